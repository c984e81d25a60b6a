/**
 * The pair-wide rules of the core, one Region's decision at a time: the peer's published outcomes come in as
 * `ctx.pair`, as the orchestrator reads them from the pair view.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '#lib/core/decide.ts';
import {
  type BrokerObservation,
  type CoreConfig,
  type CoreEvent,
  initialState,
  type Outcome,
  type PairState,
  type PairViewRead,
  type Promotion,
} from '#lib/core/model.ts';
import { coreConfig, lagAlarm, MIN, primary, replica, replicaOf, T0 } from '../support/core-fixtures.ts';

const east: CoreConfig = { ...coreConfig, region: 'us-east-1', failbackPolicy: 'manual' };

/** us-west-2's failover, automatic, completed at T0 + 5 min. */
const westFailover: Promotion = {
  region: 'us-west-2',
  operationId: 'op-west',
  mode: 'FAILOVER',
  trigger: 'health-check',
  origin: 'AUTOMATIC',
  reversal: 'DISARMS',
  startedAt: T0,
  acceptedAt: T0 + MIN,
  completedAt: T0 + 5 * MIN,
};
const peer = (lastPromotion?: Promotion, extra: object = {}): PairViewRead => ({
  peer: { region: 'us-west-2', version: 9, publishedAt: T0, ...(lastPromotion ? { lastPromotion } : {}), ...extra },
});

/** A record that has seen its broker a replica already (the first event with a view records the role). */
const base = (): PairState => ({ ...initialState('orders'), localRole: { role: 'REPLICA', since: T0 - MIN } });

let ids = 0;
const step = (
  state: PairState,
  event: CoreEvent,
  ctx: { now?: number; observation?: BrokerObservation; pair?: PairViewRead; cfg?: CoreConfig } = {},
): Outcome =>
  decide(state, event, {
    now: ctx.now ?? T0 + 60 * MIN,
    observation: ctx.observation ?? replicaOf(state),
    config: ctx.cfg ?? east,
    newOperationId: () => `op-${++ids}`,
    ...(ctx.pair ? { pair: ctx.pair } : {}),
  });
const promotes = (o: Outcome) => o.commands.filter((c) => c.type === 'PROMOTE');

describe('fail-back policy', () => {
  it('after the other Region’s automatic promotion, an alarm or failing probes never promote back (manual)', () => {
    const out = step(base(), lagAlarm(), { pair: peer(westFailover) });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions[0]).toMatchObject({ action: 'REFUSE', code: 'FAILBACK_DISARMED' });
    let s = base();
    const probe: CoreEvent = { type: 'PROBE', healthy: false, detail: 'connect refused' };
    const actions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const o = step(s, probe, { pair: peer(westFailover) });
      expect(promotes(o)).toEqual([]);
      actions.push(...o.decisions.map((d) => d.action));
      s = o.state;
    }
    // Refused (and notified) once at the threshold; the probes after it count quietly.
    expect(actions).toEqual(['COUNT_PROBE', 'COUNT_PROBE', 'REFUSE', 'COUNT_PROBE', 'COUNT_PROBE']);
  });

  it('an operator may still promote; failing back by hand re-arms, any other promotion disarms its reversal', () => {
    const operator: CoreEvent = { type: 'OPERATOR', mode: 'SWITCHOVER', reason: 'fail back', operator: 'alice' };
    const failBack = step(base(), operator, { pair: peer(westFailover) });
    expect(promotes(failBack)).toHaveLength(1);
    const id = failBack.state.operation?.id as string;
    const accepted = step(
      failBack.state,
      { type: 'PROMOTE_RESULT', operationId: id, mode: 'SWITCHOVER', accepted: true, retryable: false },
      {
        pair: peer(westFailover),
        observation: { ...replica, promotionPending: true },
      },
    );
    // It reversed us-west-2's disarming failover: a fail-back by hand, which disarms nothing.
    expect(accepted.state.lastPromotion).toMatchObject({ origin: 'OPERATOR', reversal: 'FAILBACK' });
    // An operator's planned move that reverses nothing disarming disarms its own reversal.
    const planned: Promotion = { ...westFailover, trigger: 'operator:bob', origin: 'OPERATOR', reversal: 'DISARMS' };
    expect(step(base(), lagAlarm(), { pair: peer(planned) }).decisions[0]?.code).toBe('FAILBACK_DISARMED');
    const fellBack: Promotion = { ...planned, reversal: 'FAILBACK' };
    expect(promotes(step(base(), lagAlarm(), { pair: peer(fellBack) }))).toHaveLength(1);
  });

  it('a re-arm, by either Region, lifts the disarm; with nothing disarmed it is ignored', () => {
    const rearm: CoreEvent = { type: 'REARM', reason: 'link fixed', operator: 'alice' };
    const rearmed = step(base(), rearm, { pair: peer(westFailover) });
    expect(rearmed.decisions).toMatchObject([
      { action: 'REARM', reason: expect.stringContaining("after us-west-2's FAILOVER op-west") },
    ]);
    expect(promotes(step(rearmed.state, lagAlarm(), { pair: peer(westFailover), now: T0 + 61 * MIN }))).toHaveLength(1);
    // The other Region's re-arm, read from the view, counts the same.
    const theirs = peer(westFailover, { rearm: { operator: 'bob', reason: 'ok', at: T0 + 30 * MIN } });
    expect(promotes(step(base(), lagAlarm(), { pair: theirs }))).toHaveLength(1);
    expect(step(base(), rearm, { pair: peer() }).decisions).toMatchObject([{ action: 'IGNORE' }]);
  });

  it('FAILBACK_POLICY=automatic promotes back, but only after the pair-wide cooldown', () => {
    const cfg = { ...east, failbackPolicy: 'automatic' } as const;
    const early = step(base(), lagAlarm(), { cfg, pair: peer(westFailover), now: T0 + 10 * MIN });
    expect(early.decisions[0]).toMatchObject({ action: 'REFUSE', code: 'COOLDOWN' });
    expect(promotes(step(base(), lagAlarm(), { cfg, pair: peer(westFailover), now: T0 + 21 * MIN }))).toHaveLength(1);
  });

  it('the pair-wide cooldown runs from when the other Region’s promotion took hold, before it is seen complete', () => {
    const cfg = { ...east, failbackPolicy: 'automatic' } as const;
    const underWay = { ...westFailover, completedAt: undefined, acceptedAt: T0 + MIN } as Promotion;
    const out = step(base(), lagAlarm(), { cfg, pair: peer(underWay), now: T0 + 2 * MIN });
    expect(out.decisions[0]).toMatchObject({ action: 'REFUSE', code: 'COOLDOWN' });
    // 15 minutes from when it took hold (T0 + 1 min): refused at T0 + 15:59, armed at T0 + 16:00.
    expect(step(base(), lagAlarm(), { cfg, pair: peer(underWay), now: T0 + 16 * MIN - 1000 }).decisions[0]?.code).toBe(
      'COOLDOWN',
    );
    expect(promotes(step(base(), lagAlarm(), { cfg, pair: peer(underWay), now: T0 + 16 * MIN }))).toHaveLength(1);
  });

  it('a pair view that cannot be read stops automatic promotion and escalation, not operators', () => {
    const unreadable: PairViewRead = { error: 'table impaired' };
    const out = step(base(), lagAlarm(), { pair: unreadable });
    expect(out.decisions[0]).toMatchObject({ action: 'REFUSE', code: 'PAIR_VIEW_UNREADABLE' });
    const operator: CoreEvent = { type: 'OPERATOR', mode: 'FAILOVER', reason: 'now', operator: 'alice' };
    expect(promotes(step(base(), operator, { pair: unreadable }))).toHaveLength(1);
    // A switchover in flight at its deadline waits for the view rather than failing over blind.
    const started = step(base(), lagAlarm(), { pair: peer(), now: T0 });
    const id = started.state.operation?.id as string;
    const deadline = step(started.state, { type: 'DEADLINE', operationId: id }, { pair: unreadable, now: T0 + 11 * MIN });
    expect(promotes(deadline)).toEqual([]);
    expect(deadline.decisions.at(-1)).toMatchObject({
      action: 'WAIT',
      reason: expect.stringContaining('pair view cannot be read'),
    });
  });

  it('a demotion the view does not show yet keeps automatic promotion waiting until it does', () => {
    const seenPrimary = step(initialState('orders'), { type: 'SWEEP' }, { observation: primary, pair: peer(), now: T0 });
    expect(seenPrimary.decisions).toMatchObject([{ action: 'ROLE_OBSERVED', reason: 'local broker is the PRIMARY' }]);
    const demoted = step(seenPrimary.state, lagAlarm(), { pair: peer(), now: T0 + 8 * MIN });
    expect(demoted.decisions.map((d) => d.action)).toEqual(['ROLE_OBSERVED', 'REFUSE']);
    expect(demoted.decisions[1]?.code).toBe('UNEXPLAINED_DEMOTION');
    // Once the view shows us-west-2's automatic failover, the fail-back rule decides.
    const shown = step(demoted.state, lagAlarm(), { pair: peer(westFailover), now: T0 + 9 * MIN });
    expect(shown.decisions[0]?.code).toBe('FAILBACK_DISARMED');
  });
});

it('an operator’s promotion that cannot see what it reversed disarms, and its reversal by hand is no fail-back', () => {
  // Found by the pair model (seed 20261227): us-west-2 promoted automatically; us-east-1's operator promoted
  // back before the view showed it (taken for a planned move); us-west-2's operator then reversed that (taken
  // for a fail-back, re-arming), and an alarm in us-east-1 reversed an operator's promotion.
  const seenPrimary = step(initialState('orders'), { type: 'SWEEP' }, { observation: primary, pair: peer(), now: T0 });
  const operator: CoreEvent = { type: 'OPERATOR', mode: 'SWITCHOVER', reason: 'back east', operator: 'alice' };
  const started = step(seenPrimary.state, operator, { pair: peer(), now: T0 + MIN });
  const id = started.state.operation?.id as string;
  const accepted = step(
    started.state,
    { type: 'PROMOTE_RESULT', operationId: id, mode: 'SWITCHOVER', accepted: true, retryable: false },
    { pair: peer(), observation: { ...replica, promotionPending: true }, now: T0 + MIN },
  );
  const eastPromotion = accepted.state.lastPromotion as Promotion;
  expect(eastPromotion).toMatchObject({ origin: 'OPERATOR', reversal: 'UNCERTAIN' });
  // us-west-2's operator reverses it: with it uncertain, that is not a fail-back, so it disarms.
  const west = { ...base(), lastPromotion: westFailover };
  const westConfig = { ...east, region: 'us-west-2' };
  const reversal = step(west, operator, {
    pair: { peer: { region: 'us-east-1', version: 3, publishedAt: T0, lastPromotion: eastPromotion } },
    cfg: westConfig,
    now: T0 + 3 * MIN,
  });
  const rid = reversal.state.operation?.id as string;
  const reversed = step(
    reversal.state,
    { type: 'PROMOTE_RESULT', operationId: rid, mode: 'SWITCHOVER', accepted: true, retryable: false },
    {
      pair: { peer: { region: 'us-east-1', version: 3, publishedAt: T0, lastPromotion: eastPromotion } },
      observation: { ...replica, promotionPending: true },
      cfg: westConfig,
      now: T0 + 3 * MIN,
    },
  );
  expect(reversed.state.lastPromotion).toMatchObject({ origin: 'OPERATOR', reversal: 'DISARMS' });
  // So us-east-1's alarm may not reverse it.
  const alarm = step(base(), lagAlarm(), { pair: peer(reversed.state.lastPromotion), now: T0 + 5 * MIN });
  expect(promotes(alarm)).toEqual([]);
  expect(alarm.decisions[0]?.code).toBe('FAILBACK_DISARMED');
  // The same with the view unreadable when the operator promotes.
  const blind = step(base(), operator, { pair: { error: 'table impaired' } });
  const bid = blind.state.operation?.id as string;
  const blindAccepted = step(
    blind.state,
    { type: 'PROMOTE_RESULT', operationId: bid, mode: 'SWITCHOVER', accepted: true, retryable: false },
    { pair: { error: 'table impaired' }, observation: { ...replica, promotionPending: true } },
  );
  expect(blindAccepted.state.lastPromotion).toMatchObject({ reversal: 'UNCERTAIN' });
});

describe('superseded, abandoned, break glass', () => {
  /** us-east-1's switchover, accepted at T0 (the record never saw it complete). */
  const inFlight = (): PairState => {
    const started = step(base(), lagAlarm(), { pair: peer(), now: T0 });
    const id = started.state.operation?.id as string;
    return step(
      started.state,
      { type: 'PROMOTE_RESULT', operationId: id, mode: 'SWITCHOVER', accepted: true, retryable: false },
      {
        pair: peer(),
        now: T0,
        observation: { ...replica, promotionPending: true },
      },
    ).state;
  };

  it('ends SUPERSEDED when the other Region promoted after it started and the local broker is a replica, never escalating', () => {
    const later = { ...westFailover, startedAt: T0 + 3 * MIN, acceptedAt: T0 + 3 * MIN };
    const out = step(inFlight(), { type: 'SWEEP' }, { pair: peer(later), now: T0 + 9 * MIN, observation: replica });
    expect(out.state.operation?.status).toBe('SUPERSEDED');
    expect(out.decisions[0]).toMatchObject({
      action: 'SUPERSEDE',
      reason: expect.stringMatching(/^us-west-2 promoted its broker \(FAILOVER op-west/),
    });
    expect(promotes(out)).toEqual([]);
    expect(out.commands.map((c) => c.type)).toEqual(['CANCEL_DEADLINE', 'NOTIFY']);
    // A promotion of the other Region that took hold before (beyond the clock-skew allowance): escalation.
    const older = { ...westFailover, startedAt: T0 - 10 * MIN, acceptedAt: T0 - 9 * MIN, completedAt: T0 - 2 * MIN };
    const escalated = step(inFlight(), { type: 'SWEEP' }, { pair: peer(older), now: T0 + 11 * MIN });
    expect(escalated.decisions.map((d) => d.action)).toContain('ESCALATE_TO_FAILOVER');
  });

  it('an operation whose Promote is not accepted yet is superseded only by a promotion certainly after it', () => {
    const started = step(
      base(),
      { type: 'OPERATOR', mode: 'SWITCHOVER', reason: 'move', operator: 'alice' },
      { pair: peer(), now: T0 + 2 * MIN },
    );
    // us-west-2's promotion took hold a minute before: within the skew allowance, so not known to be after.
    const near = { ...westFailover, startedAt: T0, acceptedAt: T0 + MIN, completedAt: undefined } as Promotion;
    expect(step(started.state, { type: 'SWEEP' }, { pair: peer(near), now: T0 + 3 * MIN }).state.operation?.status).toBe(
      'SWITCHOVER_REQUESTED',
    );
    const after = { ...near, startedAt: T0 + 4 * MIN, acceptedAt: T0 + 4 * MIN };
    expect(step(started.state, { type: 'SWEEP' }, { pair: peer(after), now: T0 + 5 * MIN }).state.operation?.status).toBe(
      'SUPERSEDED',
    );
    // Started after it, but not taken hold yet (not accepted, not completed): its Promote may still be refused.
    const notYet = { ...after, acceptedAt: undefined } as Promotion;
    expect(step(started.state, { type: 'SWEEP' }, { pair: peer(notYet), now: T0 + 5 * MIN }).state.operation?.status).toBe(
      'SWITCHOVER_REQUESTED',
    );
  });

  it('a Promote whose answer was lost is re-sent only while the view shows no promotion since, and is readable', () => {
    // An operator fails over here at T0 + 2 min; the answer is lost (no acceptance recorded).
    const started = step(
      base(),
      { type: 'OPERATOR', mode: 'FAILOVER', reason: 'drill', operator: 'alice' },
      { pair: peer(), now: T0 + 2 * MIN },
    );
    const sweep = (pair: PairViewRead, now = T0 + 5 * MIN) => step(started.state, { type: 'SWEEP' }, { pair, now });
    // Nothing new in the view: the re-send goes out.
    expect(promotes(sweep(peer()))).toEqual([{ type: 'PROMOTE', operationId: started.state.operation?.id, mode: 'FAILOVER' }]);
    // The other Region promoted 20 s after this started (an operator moving the primary back): never re-sent.
    const back: Promotion = {
      ...westFailover,
      operationId: 'op-back',
      mode: 'SWITCHOVER',
      trigger: 'operator:bob',
      origin: 'OPERATOR',
      startedAt: T0 + 2 * MIN + 20_000,
      acceptedAt: T0 + 2 * MIN + 25_000,
      completedAt: T0 + 3 * MIN,
    };
    const moot = sweep(peer(back));
    expect(promotes(moot)).toEqual([]);
    expect(moot.state.operation?.status).toBe('SUPERSEDED');
    expect(moot.decisions[0]?.reason).toMatch(
      /us-west-2 promoted its broker \(SWITCHOVER op-back, operator:bob.*not sent: it could reverse/,
    );
    // Stamped up to the clock allowance before this started counts too (the other Region's clock may be behind).
    expect(promotes(sweep(peer({ ...back, startedAt: T0 + 2 * MIN - 55_000 })))).toEqual([]);
    // The view unreadable: whether anything was promoted since is unknown, so nothing is sent; it waits.
    const blind = sweep({ error: 'table impaired' });
    expect(promotes(blind)).toEqual([]);
    expect(blind.decisions[0]).toMatchObject({ action: 'WAIT', code: 'PAIR_VIEW_UNREADABLE' });
  });

  it('an operator abandons the operation in flight, with a reason; the deadline is cancelled', () => {
    const abandon: CoreEvent = { type: 'ABANDON', reason: 'stuck; retry tonight', operator: 'alice' };
    const out = step(inFlight(), abandon, {
      pair: peer(),
      now: T0 + 2 * MIN,
      observation: { ...replica, promotionPending: true },
    });
    expect(out.state.operation?.status).toBe('ABANDONED');
    expect(out.decisions[0]?.reason).toBe(
      'stuck; retry tonight; Amazon MQ still shows a promotion under way, which abandoning does not stop',
    );
    expect(out.commands.map((c) => c.type)).toEqual(['CANCEL_DEADLINE', 'NOTIFY']);
    expect(step(out.state, abandon, { pair: peer(), now: T0 + 3 * MIN }).decisions).toMatchObject([{ action: 'IGNORE' }]);
  });

  it('records a break-glass failover once, marked, and completes it when the broker is the primary', () => {
    const record = { id: 'op-glass', operator: 'alice', reason: 'table down', requestKey: 'glass-1', at: T0 + 2 * MIN };
    const out = step(base(), { type: 'BREAK_GLASS', record }, { observation: primary, pair: peer(), now: T0 + 7 * MIN });
    expect(out.decisions.map((d) => [d.action, d.breakGlass ?? false])).toEqual([
      ['START_FAILOVER', true],
      ['COMPLETE', false],
    ]);
    expect(out.decisions[0]?.reason).toMatch(/^break glass: alice failed over at .* recorded 300 s later/);
    // Nothing disarming came before it: an operator's failover disarms its own reversal.
    expect(out.state.lastPromotion).toMatchObject({
      operationId: 'op-glass',
      origin: 'OPERATOR',
      reversal: 'DISARMS',
      breakGlass: true,
    });
    expect(step(out.state, { type: 'BREAK_GLASS', record }, { observation: primary, pair: peer() }).decisions).toEqual([]);
    // Recorded 5 minutes later, its recovery is not those 5 minutes: unknown when nobody saw the takeover, and the
    // takeover the break-glass request saw when it did.
    expect(out.decisions[1]?.recoveryMs).toBeUndefined();
    const seen = step(
      base(),
      { type: 'BREAK_GLASS', record: { ...record, promotedAt: T0 + 2 * MIN + 5_000 } },
      { observation: primary, pair: peer(), now: T0 + 7 * MIN },
    );
    expect(seen.decisions[1]).toMatchObject({ action: 'COMPLETE', recoveryMs: 5_000 });
  });
});

describe('a promotion made outside the orchestrator', () => {
  const sweep: CoreEvent = { type: 'SWEEP' };
  const cfg = { ...east, redirect: { retryAfterMs: 60_000, maxAttempts: 3 } };

  it('is recorded as what it was, published, and clients follow it', () => {
    // us-east-1's replica is seen the primary with no operation of its own: someone promoted it by hand.
    const out = step(base(), sweep, { observation: primary, pair: peer(), cfg });
    expect(out.decisions.map((d) => d.action)).toEqual(['ROLE_OBSERVED', 'EXTERNAL_PROMOTION', 'REDIRECT_CLIENTS']);
    expect(out.state.operation).toMatchObject({ origin: 'EXTERNAL', external: true, status: 'COMPLETED', mode: 'FAILOVER' });
    expect(out.decisions[1]?.rpo).toMatchObject({ events: null, unknown: 'NO_DATAPOINT' });
    expect(out.commands).toContainEqual({ type: 'REDIRECT_CLIENTS', operationId: out.state.operation?.id });
    // The pair view shows it, and it disarms automatic reversal: the other Region's alarm will not undo it.
    expect(out.state.lastPromotion).toMatchObject({ origin: 'EXTERNAL', reversal: 'DISARMS', trigger: 'external' });
    // Seen again: nothing new.
    expect(step(out.state, sweep, { observation: primary, pair: peer(), cfg }).decisions).toEqual([]);
  });

  it('reversing the other Region’s automatic promotion by hand (the console) is a fail-back: it re-arms', () => {
    const out = step(base(), sweep, { observation: primary, pair: peer(westFailover), cfg });
    expect(out.state.lastPromotion).toMatchObject({ origin: 'EXTERNAL', reversal: 'FAILBACK' });
  });

  it('a broker promoted back before its Region saw it a replica is recorded once, whatever the clocks say', () => {
    // us-east-1 saw its broker the primary all along; us-west-2's automatic failover completed since (its clock 55 s
    // ahead); the broker is the primary now: someone promoted it back.
    const seenPrimary: PairState = { ...initialState('orders'), localRole: { role: 'PRIMARY', since: T0 - MIN } };
    const ahead = peer({ ...westFailover, startedAt: T0 + 60 * MIN + 55_000, completedAt: T0 + 60 * MIN + 55_000 });
    const out = step(seenPrimary, sweep, { observation: primary, pair: ahead, cfg });
    expect(out.decisions.map((d) => d.action)).toEqual(['ROLE_OBSERVED', 'EXTERNAL_PROMOTION', 'REDIRECT_CLIENTS']);
    // Its own record is stamped by a clock behind the other's: seen again, it is not taken for another promotion.
    expect(step(out.state, sweep, { observation: primary, pair: ahead, cfg }).decisions).toEqual([]);
  });

  it('a broker that was the primary all along, or a stack alone, records no outside promotion', () => {
    const fresh = step(initialState('orders'), sweep, { observation: primary, pair: peer(), cfg });
    expect(fresh.decisions.map((d) => d.action)).toEqual(['ROLE_OBSERVED']);
    expect(step(base(), sweep, { observation: primary, cfg }).decisions).toEqual([]);
  });
});
