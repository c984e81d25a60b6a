/**
 * The core's guards for the worst day: probes that say nothing about the primary, a deployment that names the
 * wrong remote broker, and a switchover that cannot complete because the primary's Region answers nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, OUTAGE_EVIDENCE_MAX_AGE_MS } from '#lib/core/decide.ts';
import {
  type BrokerObservation,
  type CoreConfig,
  type CoreEvent,
  initialState,
  type Outcome,
  type PairState,
} from '#lib/core/model.ts';
import { coreConfig, MIN, replica as replicaAlone, T0 } from '../support/core-fixtures.ts';

const remote = { brokerId: 'b-remote', region: 'us-east-1' };
const config: CoreConfig = { ...coreConfig, remote, outageEscalationMs: 60_000 };
const replica: BrokerObservation = { ...replicaAlone, counterpart: remote };
const promoting: BrokerObservation = { ...replica, promotionPending: true };

const outage: CoreEvent = {
  type: 'PROBE',
  healthy: false,
  outage: true,
  detail: 'DescribeBroker: timed out after 3000 ms; none of 2 endpoints answered',
};
const failing: CoreEvent = {
  type: 'PROBE',
  healthy: false,
  detail: 'DescribeBroker answered; none of 2 endpoints answered (ECONNREFUSED)',
};
const healthy: CoreEvent = { type: 'PROBE', healthy: true, detail: '2/2 endpoints answer' };
const throttled: CoreEvent = {
  type: 'PROBE',
  healthy: false,
  detail: 'DescribeBroker b-remote: TooManyRequestsException (429): rate exceeded',
  refused: { code: 'TooManyRequestsException', detail: 'rate exceeded' },
};

let ids = 0;
const step = (state: PairState, event: CoreEvent, now: number, observation = replica, cfg = config): Outcome =>
  decide(state, event, { now, observation, config: cfg, newOperationId: () => `op-${++ids}` });

/** Plays events one a minute from T0, each with its observation; returns every outcome. */
function play(events: Array<[CoreEvent, BrokerObservation?]>, cfg = config): { state: PairState; outcomes: Outcome[] } {
  let state = initialState('orders');
  const outcomes: Outcome[] = [];
  for (const [i, [event, observation]] of events.entries()) {
    const out = step(state, event, T0 + i * MIN, observation ?? replica, cfg);
    outcomes.push(out);
    state = out.state;
    // Amazon MQ accepts every Promote at once.
    for (const c of out.commands) {
      if (c.type !== 'PROMOTE') continue;
      const accepted = step(
        state,
        { type: 'PROMOTE_RESULT', operationId: c.operationId, mode: c.mode, accepted: true, retryable: false },
        T0 + i * MIN,
        promoting,
        cfg,
      );
      outcomes.push(accepted);
      state = accepted.state;
    }
  }
  return { state, outcomes };
}

const actions = (outcomes: Outcome[]) => outcomes.flatMap((o) => o.decisions.map((d) => d.action));
const notifications = (outcomes: Outcome[]) => outcomes.flatMap((o) => o.commands.filter((c) => c.type === 'NOTIFY'));
const promoteModes = (outcomes: Outcome[]) =>
  outcomes.flatMap((o) => o.commands.flatMap((c) => (c.type === 'PROMOTE' ? [c.mode] : [])));

describe('gray failure: failed probes within the window', () => {
  const windowed: CoreConfig = { ...config, probeWindowMs: 4 * MIN };

  it('probes that alternate (a Region down more than it is up) start a switchover at the second failure within 4 minutes', () => {
    const { outcomes } = play([[healthy], [failing], [healthy], [failing]], windowed);
    const started = outcomes.flatMap((o) => o.decisions).find((d) => d.action === 'START_SWITCHOVER');
    expect(started?.reason).toMatch(/^primary failed 2 probes within 240 s, never 3 in a row/);
    expect(promoteModes(outcomes)).toEqual(['SWITCHOVER']);
    // The same probes without the window: never 3 in a row, nothing starts.
    expect(promoteModes(play([[healthy], [failing], [healthy], [failing], [healthy], [failing]]).outcomes)).toEqual([]);
  });

  it('one failed probe never starts anything, nor two further apart than the window', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), (fails) => {
        const { outcomes } = play(
          fails.map((f) => [f ? failing : healthy]),
          windowed,
        );
        // At a failed probe: 3 in a row, or 2 within 4 minutes (the last 4 probes) with a healthy one between.
        const expected = fails.some((f, i) => {
          if (!f) return false;
          let inRow = 0;
          while (fails[i - inRow]) inRow += 1;
          const recent = fails.slice(Math.max(0, i - 3), i + 1).filter(Boolean).length;
          return inRow >= 3 || (recent >= 2 && recent > inRow);
        });
        expect(promoteModes(outcomes).length > 0).toBe(expected);
      }),
    );
  });
});

describe('honest probes', () => {
  it('a probe the primary API refused (4xx) is no failed probe: one PROBLEM, notified once, however long it lasts', () => {
    const { state, outcomes } = play(Array.from({ length: 10 }, () => [throttled]));
    expect(promoteModes(outcomes)).toEqual([]);
    expect(actions(outcomes)).toEqual(['PROBLEM']);
    expect(notifications(outcomes)).toHaveLength(1);
    expect(state.consecutiveProbeFailures).toBe(0);
  });

  it('a conclusive probe ends the problem (recorded, not notified again), and failures count from zero', () => {
    const { state, outcomes } = play([[throttled], [throttled], [healthy], [failing]]);
    expect(actions(outcomes)).toEqual(['PROBLEM', 'PROBLEM_CLEARED', 'COUNT_PROBE']);
    expect(notifications(outcomes)).toHaveLength(1);
    expect(state.problem).toBeUndefined();
    expect(state.consecutiveProbeFailures).toBe(1);
  });

  it('a different problem is notified once more', () => {
    const forbidden: CoreEvent = { ...throttled, refused: { code: 'ForbiddenException', detail: 'not allowed' } };
    const { outcomes } = play([[throttled], [forbidden], [forbidden]]);
    expect(actions(outcomes)).toEqual(['PROBLEM', 'PROBLEM']);
    expect(notifications(outcomes)).toHaveLength(2);
  });
});

describe('the remote broker the deployment names', () => {
  const wrong: BrokerObservation = { ...replica, counterpart: { brokerId: 'b-someone-else', region: 'us-east-1' } };

  it('refuses automatic promotion when the local broker replicates with another broker, says so once', () => {
    const lag: CoreEvent = { type: 'ALARM', alarmName: 'orders-replication-lag', kind: 'REPLICATION_LAG', state: 'ALARM' };
    const { outcomes } = play([
      [failing, wrong],
      [failing, wrong],
      [failing, wrong],
      [lag, wrong],
      [failing, wrong],
    ]);
    expect(promoteModes(outcomes)).toEqual([]);
    expect(actions(outcomes)).toEqual(['PROBLEM', 'REFUSE']);
    expect(notifications(outcomes)).toHaveLength(1);
    expect(outcomes.flatMap((o) => o.decisions).find((d) => d.action === 'REFUSE')?.code).toBe('COUNTERPART_MISMATCH');
    // The problem names what to fix.
    expect(outcomes[0]?.decisions[0]?.reason).toContain('fix REMOTE_BROKER_ID and REMOTE_REGION');
  });

  it('an operator still promotes by hand', () => {
    const op: CoreEvent = { type: 'OPERATOR', mode: 'FAILOVER', reason: 'by hand', operator: 'alice' };
    expect(promoteModes(play([[op, wrong]]).outcomes)).toEqual(['FAILOVER']);
  });
});

describe('outage-aware escalation', () => {
  it('probes find the Region unreachable: switchover after 3, failover one minute after the outage is confirmed', () => {
    const { outcomes } = play([[outage], [outage], [outage], [outage, promoting]]);
    expect(actions(outcomes)).toEqual([
      'COUNT_PROBE',
      'COUNT_PROBE',
      'START_SWITCHOVER',
      'PROMOTE_ACCEPTED',
      'COUNT_PROBE',
      'ESCALATE_TO_FAILOVER',
      'PROMOTE_ACCEPTED',
    ]);
    const escalation = outcomes.flatMap((o) => o.decisions).find((d) => d.action === 'ESCALATE_TO_FAILOVER');
    expect(escalation).toMatchObject({ at: T0 + 3 * MIN, escalatedBy: 'outage' });
  });

  it('the sweep escalates too, and a switchover started by the lag alarm counts the outage from when it is confirmed', () => {
    const lag: CoreEvent = { type: 'ALARM', alarmName: 'orders-replication-lag', kind: 'REPLICATION_LAG', state: 'ALARM' };
    const sweep: CoreEvent = { type: 'SWEEP' };
    const { outcomes } = play([
      [lag],
      [outage, promoting],
      [outage, promoting],
      [sweep, promoting],
      [outage, promoting],
      [sweep, promoting],
    ]);
    const escalation = outcomes.flatMap((o) => o.decisions).find((d) => d.action === 'ESCALATE_TO_FAILOVER');
    // Confirmed by the third outage probe at T+4 min; escalated by the sweep a minute later.
    expect(escalation?.at).toBe(T0 + 5 * MIN);
    expect(escalation?.event).toBe('sweep');
  });

  it('never escalates early while the Region answers: failed probes whose API answers (a partition, a slow drain)', () => {
    const { outcomes } = play([
      [failing],
      [failing],
      [failing],
      ...Array.from({ length: 8 }, (): [CoreEvent, BrokerObservation] => [failing, promoting]),
    ]);
    expect(promoteModes(outcomes)).toEqual(['SWITCHOVER']);
  });

  it('a probe the API refused (4xx) is an answer: it breaks a streak of unreachable probes (found by the property below)', () => {
    const { outcomes } = play([[failing], [outage], [outage], [throttled, promoting], [outage, promoting], [outage, promoting]]);
    expect(promoteModes(outcomes)).toEqual(['SWITCHOVER']);
  });

  it('an operator hold stops it', () => {
    const hold: CoreEvent = { type: 'HOLD', hold: true, reason: 'on it', operator: 'alice' };
    const { outcomes } = play([
      [outage],
      [outage],
      [outage],
      [hold, promoting],
      [outage, promoting],
      [{ type: 'SWEEP' }, promoting],
      [outage, promoting],
    ]);
    expect(promoteModes(outcomes)).toEqual(['SWITCHOVER']);
  });

  it('stale evidence (the probes stopped) escalates nothing; OUTAGE_ESCALATION_SECONDS=0 turns it off', () => {
    const { state } = play([[outage], [outage], [outage]]);
    const late = step(state, { type: 'SWEEP' }, T0 + 2 * MIN + OUTAGE_EVIDENCE_MAX_AGE_MS + 1, promoting);
    expect(promoteModes([late])).toEqual([]);
    const { outcomes } = play([[outage], [outage], [outage], [outage, promoting], [outage, promoting]], {
      ...config,
      outageEscalationMs: undefined,
    });
    expect(promoteModes(outcomes)).toEqual(['SWITCHOVER']);
  });

  it('property: whatever the probes, no escalation before the deadline unless the last N probes all found the Region unreachable', () => {
    // Mostly outages, so that many schedules reach the escalation.
    const probe = fc.oneof({ weight: 6, arbitrary: fc.constant(outage) }, fc.constantFrom(failing, healthy, throttled));
    fc.assert(
      fc.property(fc.array(probe, { minLength: 1, maxLength: 12 }), (probes) => {
        const { outcomes } = play(probes.map((p, i) => [p, i >= 3 ? promoting : replica]));
        for (const [i, o] of outcomes.entries()) {
          const escalated = o.decisions.find((d) => d.action === 'ESCALATE_TO_FAILOVER');
          if (!escalated) continue;
          const minute = (escalated.at - T0) / MIN;
          const recent = probes.slice(Math.max(0, minute - 2), minute + 1);
          expect(recent.length === 3 && recent.every((p) => p === outage), `escalated at minute ${minute} (${i})`).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('stale triggers', () => {
  const cfg = { ...config, maxEventAgeMs: 300_000 };
  const alarmAt = (sentAt: number): CoreEvent => ({
    type: 'ALARM',
    alarmName: 'orders-replication-lag',
    kind: 'REPLICATION_LAG',
    state: 'ALARM',
    sentAt,
  });

  it('an alarm delivered hours after it fired is recorded and ignored; one within the limit acts', () => {
    const late = step(initialState('orders'), alarmAt(T0 - 3 * 3_600_000), T0, replica, cfg);
    expect(promoteModes([late])).toEqual([]);
    expect(late.decisions).toMatchObject([
      { action: 'IGNORE', reason: expect.stringMatching(/^stale: sent at 2026-11-23T06:00:00.000Z, 10800 s ago/) },
    ]);
    const fresh = step(initialState('orders'), alarmAt(T0 - 299_000), T0, replica, cfg);
    expect(promoteModes([fresh])).toEqual(['SWITCHOVER']);
  });

  it('a probe fired long ago counts nothing; without a limit the age is not looked at', () => {
    const stale = step(initialState('orders'), { ...outage, sentAt: T0 - 600_000 }, T0, replica, cfg);
    expect(stale.state.remoteOutage).toBeUndefined();
    expect(stale.decisions.map((d) => d.action)).toEqual(['IGNORE']);
    const unlimited = step(initialState('orders'), alarmAt(T0 - 3 * 3_600_000), T0, replica, config);
    expect(promoteModes([unlimited])).toEqual(['SWITCHOVER']);
  });
});

describe('a switchover started with escalation held (mqdr switchover --no-escalate)', () => {
  it('never escalates by itself (deadline, sweep, outage), says so at start, and the operator can still fail over', () => {
    const start: CoreEvent = {
      type: 'OPERATOR',
      mode: 'SWITCHOVER',
      reason: 'planned move',
      operator: 'alice',
      holdEscalation: true,
    };
    const started = step(initialState('orders'), start, T0);
    expect(started.decisions[0]?.reason).toContain('escalation held by alice: it will not fail over by itself');
    const op = started.state.operation;
    if (!op) throw new Error('no operation');
    const accepted = step(
      started.state,
      { type: 'PROMOTE_RESULT', operationId: op.id, mode: 'SWITCHOVER', accepted: true, retryable: false },
      T0,
      promoting,
    );
    const deadline = step(accepted.state, { type: 'DEADLINE', operationId: op.id }, T0 + 600_000, promoting);
    expect(deadline.decisions).toMatchObject([
      { action: 'REFUSE', reason: expect.stringContaining('alice holds automatic escalation') },
    ]);
    let state = deadline.state;
    const later: Outcome[] = [];
    for (const e of [outage, outage, outage, outage, { type: 'SWEEP' } as CoreEvent]) {
      const out = step(state, e, T0 + 660_000 + later.length * MIN, promoting);
      later.push(out);
      state = out.state;
    }
    expect(promoteModes([deadline, ...later])).toEqual([]);
    const byHand = step(
      state,
      { type: 'OPERATOR', mode: 'FAILOVER', reason: 'now', operator: 'alice' },
      T0 + 1_000_000,
      promoting,
    );
    expect(promoteModes([byHand])).toEqual(['FAILOVER']);
  });
});
