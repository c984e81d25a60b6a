import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '#lib/core/decide.ts';
import { type CoreConfig, type CoreEvent, initialState, type PairState, type ReplicationPoint } from '#lib/core/model.ts';
import { estimateDrain } from '#lib/core/predict.ts';
import { rpoNow } from '#lib/core/rpo.ts';
import { replicaOf } from '../support/core-fixtures.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const minute = 60_000;
/** The primary's (the other Region's broker's) QueueSize a minute apart, with a lag of a second per 100 events. */
const series = (values: number[], start = T0, local = false): ReplicationPoint[] =>
  values.map((events, i) => ({ at: start + i * minute, local, events, lagSeconds: events / 100 }));

describe('estimateDrain', () => {
  it('projects a steady drain to zero from the last datapoint', () => {
    const e = estimateDrain(series([6000, 4800, 3600]), T0, 3);
    expect(e).toMatchObject({ events: 3600, drainRate: 20, points: 3 });
    expect(e?.zeroAt).toBe(T0 + 2 * minute + 180_000);
  });

  it('has no zero time for a lag that stands still or grows, and none at all with too few datapoints', () => {
    expect(estimateDrain(series([500, 500, 500]), T0, 3)?.zeroAt).toBeUndefined();
    expect(estimateDrain(series([500, 700, 900]), T0, 3)?.zeroAt).toBeUndefined();
    expect(estimateDrain(series([500, 400]), T0, 3)).toBeUndefined();
    expect(estimateDrain(series([900, 800, 700, 600]), T0 + 2 * minute, 3)).toBeUndefined(); // only 2 since then
  });

  it('is done at the last datapoint when the lag reached zero', () => {
    expect(estimateDrain(series([200, 100, 0]), T0, 3)?.zeroAt).toBe(T0 + 2 * minute);
  });

  it('never projects a zero time before the last datapoint, nor a negative drain as draining', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(100_000), { minLength: 3, maxLength: 20 }), (values) => {
        const e = estimateDrain(series(values), T0, 3);
        if (e?.zeroAt !== undefined) expect(e.zeroAt).toBeGreaterThanOrEqual(e.at);
        if (e && e.drainRate <= 0 && e.events > 0) expect(e.zeroAt).toBeUndefined();
      }),
    );
  });
});

describe('decide: predictive escalation and RPO', () => {
  const config: CoreConfig = {
    pairId: 'orders',
    deadlineMs: 10 * minute,
    cooldownMs: 0,
    probeFailureThreshold: 3,
    promoteRetryAfterMs: 120_000,
    maxPromoteAttempts: 3,
    dryRun: false,
    prediction: { minPoints: 3, marginMs: minute },
  };
  const step = (state: PairState, event: CoreEvent, now: number, lag?: ReplicationPoint[], cfg = config) =>
    decide(state, event, {
      now,
      observation: replicaOf(state),
      config: cfg,
      newOperationId: () => 'op-1',
      ...(lag ? { lag } : {}),
    });

  /** A switchover started at T0 and accepted. */
  const inProgress = (): PairState => {
    const started = step(
      initialState('orders'),
      { type: 'ALARM', alarmName: 'lag', kind: 'REPLICATION_LAG', state: 'ALARM' },
      T0,
    ).state;
    return step(
      started,
      { type: 'PROMOTE_RESULT', operationId: 'op-1', mode: 'SWITCHOVER', accepted: true, retryable: false },
      T0,
    ).state;
  };
  const sweep = { type: 'SWEEP' } as const;

  it('a switchover completing long before its queue could drain was a FAILOVER from outside: recorded as one', () => {
    const primary = { role: 'PRIMARY', brokerState: 'RUNNING', promotionPending: false } as const;
    const complete = (lag: ReplicationPoint[]) =>
      decide(inProgress(), sweep, {
        now: T0 + 2 * minute + 10_000,
        observation: primary,
        config,
        newOperationId: () => 'x',
        lag,
      });
    // 38 000 events, not draining: the console's FAILOVER interrupted the switchover and left them.
    const interrupted = complete(series([38_000, 38_000, 38_000]));
    expect(interrupted.decisions.map((d) => [d.action, d.escalatedBy])).toEqual([
      ['ESCALATE_TO_FAILOVER', 'outside'],
      ['COMPLETE', undefined],
    ]);
    expect(interrupted.state.operation).toMatchObject({ mode: 'FAILOVER', rpo: { events: 38_000 } });
    expect(interrupted.state.lastPromotion?.mode).toBe('FAILOVER');
    // Draining to zero about now: the switchover's own completion, nothing left.
    const drained = complete(series([2_000, 1_000]));
    expect(drained.decisions.map((d) => d.action)).toEqual(['COMPLETE']);
    expect(drained.state.operation).toMatchObject({ mode: 'SWITCHOVER', rpo: { events: 0 } });
    // One datapoint cannot tell: the switchover's.
    expect(complete(series([38_000], T0 + 2 * minute)).state.operation?.mode).toBe('SWITCHOVER');
  });

  it('escalates at the sweep once the series shows the switchover cannot drain by its deadline', () => {
    const out = step(inProgress(), sweep, T0 + 3 * minute, series([9000, 9000, 9000]));
    expect(out.decisions[0]).toMatchObject({
      action: 'ESCALATE_TO_FAILOVER',
      rpo: { events: 9000, lagSeconds: 90, measuredAt: T0 + 2 * minute, ageMs: minute },
    });
    expect(out.decisions[0]?.reason).toMatch(
      /cannot drain before its deadline: 9000 events not replicated \(QueueSize\) .* it is not draining; deadline 2026-11-23T09:10:00/,
    );
    expect(out.state.operation).toMatchObject({ mode: 'FAILOVER', rpo: { events: 9000 } });
  });

  it('does not escalate a drain that ends before the deadline plus the margin, without the feature, or under a hold', () => {
    const s = inProgress();
    expect(step(s, sweep, T0 + 3 * minute, series([9000, 6000, 3000])).decisions).toEqual([]);
    // 10 msg/s from 5100 at 09:02: zero at 09:10:30, after the 09:10 deadline but inside the one-minute margin
    expect(estimateDrain(series([6300, 5700, 5100]), T0, 3)?.zeroAt).toBe(T0 + 10.5 * minute);
    expect(step(s, sweep, T0 + 3 * minute, series([6300, 5700, 5100])).decisions).toEqual([]);
    expect(step(s, sweep, T0 + 3 * minute, series([6900, 6300, 5700])).decisions[0]?.action).toBe('ESCALATE_TO_FAILOVER');
    const { prediction: _off, ...without } = config;
    expect(step(s, sweep, T0 + 3 * minute, series([9000, 9000, 9000]), without).decisions).toEqual([]);
    const held: PairState = { ...s, escalationHold: { operator: 'eve', reason: 'draining by hand', at: T0 } };
    expect(step(held, sweep, T0 + 3 * minute, series([9000, 9000, 9000])).decisions).toEqual([]);
  });

  it('records the RPO of an operator failover, unknown when no lag could be read, and 0 for a completed switchover', () => {
    const failover = { type: 'OPERATOR', mode: 'FAILOVER', reason: 'region down', operator: 'eve' } as const;
    expect(step(initialState('orders'), failover, T0, series([4200])).state.operation?.rpo).toEqual({
      events: 4200,
      lagSeconds: 42,
      measuredAt: T0,
      ageMs: 0,
    });
    const blind = step(initialState('orders'), failover, T0);
    expect(blind.state.operation?.rpo).toEqual({ events: null, lagSeconds: null, unknown: 'NO_DATAPOINT' });
    expect(blind.decisions[0]?.reason).toContain('RPO unknown');
    const done = decide(inProgress(), sweep, {
      now: T0 + minute,
      observation: { role: 'PRIMARY', brokerState: 'RUNNING', promotionPending: false },
      config,
      newOperationId: () => 'op-2',
    });
    expect(done.decisions[0]).toMatchObject({ action: 'COMPLETE', rpo: { events: 0, lagSeconds: 0 } });
  });

  it("never computes the RPO from a stale datapoint or from the other broker's", () => {
    const failover = { type: 'OPERATOR', mode: 'FAILOVER', reason: 'region down', operator: 'eve' } as const;
    const now = T0 + 30 * minute;
    // The primary's Region went silent 10 minutes ago: its last datapoint says nothing about now.
    const stale = step(initialState('orders'), failover, now, series([4250, 4300], now - 11 * minute));
    expect(stale.state.operation?.rpo).toEqual({
      events: null,
      lagSeconds: null,
      unknown: 'STALE',
      measuredAt: now - 10 * minute,
      ageMs: 10 * minute,
    });
    expect(stale.decisions[0]?.reason).toMatch(
      /RPO unknown: the primary's last datapoint is too old to tell, datapoint of .*, 600 s old/,
    );
    // Only this Region's broker published (when it was the primary, an earlier operation): not the broker left behind.
    const other = step(initialState('orders'), failover, now, series([4250], now - minute, true));
    expect(other.state.operation?.rpo).toMatchObject({ events: null, unknown: 'OTHER_BROKER' });
    // Both: the primary's fresh datapoint wins, the other broker's newer one is ignored.
    const both = [...series([52_583], now - 2 * minute), ...series([4250], now - minute, true)];
    expect(rpoNow(both, now)).toMatchObject({ events: 52_583, ageMs: 2 * minute });
    // Property: whatever the datapoints, a known RPO comes from the primary's own datapoint of at most 3 minutes.
    fc.assert(
      fc.property(
        fc.array(fc.record({ ago: fc.nat(20 * minute), local: fc.boolean(), events: fc.nat(100_000) }), { maxLength: 12 }),
        (raw) => {
          const points = raw.map((p) => ({ at: now - p.ago, local: p.local, events: p.events })).sort((a, b) => a.at - b.at);
          const rpo = rpoNow(points, now);
          if (rpo.events === null) return;
          const source = points.filter((p) => !p.local).at(-1);
          expect(source?.events).toBe(rpo.events);
          expect(now - (source?.at ?? 0)).toBeLessThanOrEqual(3 * minute);
        },
      ),
    );
  });
});

describe('an RPO recorded by an earlier version', () => {
  it('is described as unknown, not as a count of messages it never was', async () => {
    const { describeRpo } = await import('#lib/core/rpo.ts');
    const legacy = { messages: 4250, measuredAt: T0 } as unknown as Parameters<typeof describeRpo>[0];
    expect(describeRpo(legacy)).toBe(
      'RPO unknown: recorded by an earlier version, whose figure was a replication lag read as messages',
    );
  });
});
