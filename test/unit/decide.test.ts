import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, findRequest } from '#lib/core/decide.ts';
import {
  type BrokerObservation,
  type CoreConfig,
  type CoreEvent,
  initialState,
  type Outcome,
  type PairState,
} from '#lib/core/model.ts';
import { coreConfig as config, lagAlarm, primary as promoted, replica, replicaOf, T0 } from '../support/core-fixtures.ts';

const promoting: BrokerObservation = { ...replica, promotionPending: true };
const unknown: BrokerObservation = { role: 'UNKNOWN', brokerState: 'UNREACHABLE', promotionPending: false, error: 'timeout' };

let ids = 0;
const step = (
  state: PairState,
  event: CoreEvent,
  {
    now = T0,
    observation = replicaOf(state),
    cfg = config,
  }: { now?: number; observation?: BrokerObservation; cfg?: CoreConfig } = {},
): Outcome => decide(state, event, { now, observation, config: cfg, newOperationId: () => `op-${++ids}` });

const promotes = (o: Outcome) => o.commands.filter((c) => c.type === 'PROMOTE');

/** A switchover started at T0 and accepted by Amazon MQ. */
function switchoverInProgress(): PairState {
  const started = step(initialState('orders'), lagAlarm());
  const op = started.state.operation;
  if (!op) throw new Error('no operation started');
  return step(started.state, { type: 'PROMOTE_RESULT', operationId: op.id, mode: 'SWITCHOVER', accepted: true, retryable: false })
    .state;
}

describe('decide: starting an operation', () => {
  it('starts a switchover on a lag alarm into ALARM: Promote, deadline, notification, one decision', () => {
    const out = step(initialState('orders'), lagAlarm());
    expect(out.state.operation).toMatchObject({ mode: 'SWITCHOVER', status: 'SWITCHOVER_REQUESTED', deadlineAt: T0 + 600_000 });
    expect(out.commands.map((c) => c.type)).toEqual(['PROMOTE', 'SCHEDULE_DEADLINE', 'NOTIFY']);
    expect(out.decisions).toMatchObject([{ action: 'START_SWITCHOVER', at: T0 }]);
    expect(out.state.version).toBe(1);
  });

  it.each(['OK', 'INSUFFICIENT_DATA'] as const)('ignores an alarm transition into %s, and records why', (state) => {
    const out = step(initialState('orders'), lagAlarm(state));
    expect(promotes(out)).toEqual([]);
    expect(out.decisions).toMatchObject([{ action: 'IGNORE', code: 'NOT_INTO_ALARM' }]);
  });

  it('refuses when the local broker is already the PRIMARY (never promote a primary)', () => {
    const out = step(initialState('orders'), lagAlarm(), { observation: promoted });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions).toMatchObject([{ action: 'REFUSE', code: 'ALREADY_PRIMARY' }]);
  });

  it('refuses when the local broker cannot be observed (never promote blind)', () => {
    const out = step(initialState('orders'), lagAlarm(), { observation: unknown });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions[0]?.reason).toContain('could not be observed (timeout)');
  });

  it('refuses a second operation while one is in flight (single flight)', () => {
    const out = step(switchoverInProgress(), lagAlarm(), { now: T0 + 1_000 });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions).toMatchObject([{ action: 'REFUSE', code: 'IN_FLIGHT' }]);
  });

  it('refuses an alarm during the cooldown after a completed operation, but not an operator', () => {
    const done = step(switchoverInProgress(), { type: 'SWEEP' }, { now: T0 + 60_000, observation: promoted }).state;
    expect(done.operation?.status).toBe('COMPLETED');
    // Roles swapped back (an operator failed back): the local broker is a replica again.
    const flap = step(done, lagAlarm(), { now: T0 + 120_000 });
    expect(flap.decisions).toMatchObject([{ action: 'REFUSE', code: 'COOLDOWN' }]);
    const operator = step(
      done,
      { type: 'OPERATOR', mode: 'SWITCHOVER', reason: 'game day', operator: 'alice' },
      { now: T0 + 120_000 },
    );
    expect(promotes(operator)).toHaveLength(1);
    const afterCooldown = step(done, lagAlarm(), { now: T0 + 60_000 + 900_000 });
    expect(promotes(afterCooldown)).toHaveLength(1);
  });

  it('needs N consecutive failed probes before a health trigger counts; a healthy probe resets the count', () => {
    const fail = { type: 'PROBE', healthy: false, detail: 'connect timeout' } as const;
    let s = initialState('orders');
    for (const expected of ['COUNT_PROBE', 'COUNT_PROBE']) {
      const out = step(s, fail);
      expect(out.decisions[0]?.action).toBe(expected);
      expect(promotes(out)).toEqual([]);
      s = out.state;
    }
    const reset = step(s, { type: 'PROBE', healthy: true, detail: 'ok' });
    expect(reset.state.consecutiveProbeFailures).toBe(0);
    s = reset.state;
    s = step(s, fail).state;
    s = step(s, fail).state;
    const third = step(s, fail);
    expect(third.decisions[0]?.action).toBe('START_SWITCHOVER');
    expect(promotes(third)).toEqual([{ type: 'PROMOTE', operationId: third.state.operation?.id, mode: 'SWITCHOVER' }]);
  });

  it('in dry run decides and records, but never emits Promote nor starts an operation', () => {
    const out = step(initialState('orders'), lagAlarm(), { cfg: { ...config, dryRun: true } });
    expect(promotes(out)).toEqual([]);
    expect(out.state.operation).toBeUndefined();
    expect(out.decisions).toMatchObject([{ action: 'START_SWITCHOVER', dryRun: true }]);
  });

  it('records nothing and keeps the version for a healthy probe or an idle sweep', () => {
    const s = initialState('orders');
    expect(step(s, { type: 'PROBE', healthy: true, detail: 'ok' })).toEqual({ state: s, decisions: [], commands: [] });
    expect(step(s, { type: 'SWEEP' })).toEqual({ state: s, decisions: [], commands: [] });
  });
});

describe('decide: a switchover in flight', () => {
  it('completes only when DescribeBroker shows the local broker PRIMARY and RUNNING, never by assumption', () => {
    const s = switchoverInProgress();
    expect(step(s, { type: 'SWEEP' }, { now: T0 + 30_000, observation: promoting }).decisions).toEqual([]);
    const halfway = { role: 'PRIMARY', brokerState: 'RUNNING', promotionPending: true } as const;
    expect(step(s, { type: 'SWEEP' }, { now: T0 + 30_000, observation: halfway }).state.operation?.status).toBe(
      'SWITCHOVER_IN_PROGRESS',
    );
    const done = step(s, { type: 'SWEEP' }, { now: T0 + 30_000, observation: promoted });
    expect(done.state.operation).toMatchObject({ status: 'COMPLETED', completedAt: T0 + 30_000 });
    expect(done.commands.map((c) => c.type)).toEqual(['CANCEL_DEADLINE', 'NOTIFY']);
  });

  it('ends FAILED when its accepted promotion is gone: a replica with nothing pending past the allowance', () => {
    const s = switchoverInProgress();
    // Within PROMOTION_SHOWN_WITHIN_MS (2 minutes) of its Promote, nothing pending may still be a promotion to come.
    expect(step(s, { type: 'SWEEP' }, { now: T0 + 119_000, observation: replica }).decisions).toEqual([]);
    // Past it, pending or promoted is the promotion under way; a replica with nothing pending is not.
    expect(step(s, { type: 'SWEEP' }, { now: T0 + 120_000, observation: promoting }).decisions).toEqual([]);
    const gone = step(s, { type: 'SWEEP' }, { now: T0 + 120_000, observation: replica });
    expect(gone.state.operation).toMatchObject({ status: 'FAILED', failedAt: T0 + 120_000 });
    expect(gone.decisions.map((d) => d.action)).toEqual(['FAIL']);
    // Neither escalated nor re-sent, and its deadline cancelled: nothing promotes against what reversed it.
    expect(promotes(gone)).toEqual([]);
    expect(gone.commands.map((c) => c.type)).toEqual(['CANCEL_DEADLINE', 'NOTIFY']);
    // Any event ends it first, a deadline's too, which then finds nothing to escalate.
    const op = s.operation as NonNullable<PairState['operation']>;
    const deadline = step(s, { type: 'DEADLINE', operationId: op.id }, { now: T0 + 600_000, observation: replica });
    expect(deadline.decisions.map((d) => d.action)).toEqual(['FAIL', 'IGNORE']);
    expect(promotes(deadline)).toEqual([]);
  });

  it('escalates to FAILOVER at its deadline', () => {
    const s = switchoverInProgress();
    const op = s.operation as NonNullable<PairState['operation']>;
    const out = step(s, { type: 'DEADLINE', operationId: op.id }, { now: T0 + 600_000 });
    expect(out.state.operation).toMatchObject({ mode: 'FAILOVER', status: 'FAILOVER_REQUESTED', escalatedAt: T0 + 600_000 });
    expect(promotes(out)).toEqual([{ type: 'PROMOTE', operationId: op.id, mode: 'FAILOVER' }]);
  });

  it('escalates from the sweep when the deadline schedule was lost, and only once', () => {
    const s = switchoverInProgress();
    const early = step(s, { type: 'SWEEP' }, { now: T0 + 599_000 });
    expect(promotes(early)).toEqual([]);
    const late = step(s, { type: 'SWEEP' }, { now: T0 + 640_000 });
    expect(late.decisions[0]).toMatchObject({ action: 'ESCALATE_TO_FAILOVER', escalatedBy: 'sweep' });
    const op = late.state.operation as NonNullable<PairState['operation']>;
    const lateDeadline = step(late.state, { type: 'DEADLINE', operationId: op.id }, { now: T0 + 641_000 });
    expect(promotes(lateDeadline)).toEqual([]);
    expect(lateDeadline.decisions[0]?.reason).toContain('already escalated');
  });

  it('ignores a deadline of another operation', () => {
    const out = step(switchoverInProgress(), { type: 'DEADLINE', operationId: 'op-old' }, { now: T0 + 600_000 });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions[0]?.action).toBe('IGNORE');
  });

  it('refuses automatic escalation while an operator holds it; an operator failover still interrupts', () => {
    const hold: CoreEvent = { type: 'HOLD', hold: true, reason: 'draining by hand', operator: 'bob' };
    const held = step(switchoverInProgress(), hold, { now: T0 + 1_000 });
    expect(held.decisions).toMatchObject([{ action: 'HOLD_ESCALATION', operator: 'bob' }]);
    expect(held.commands).toMatchObject([{ type: 'NOTIFY', notification: { action: 'HOLD_ESCALATION' } }]);
    const s = held.state;
    const op = s.operation as NonNullable<PairState['operation']>;
    const deadline = step(s, { type: 'DEADLINE', operationId: op.id }, { now: T0 + 600_000 });
    expect(promotes(deadline)).toEqual([]);
    expect(deadline.decisions).toMatchObject([{ action: 'REFUSE' }]);
    expect(deadline.decisions[0]?.reason).toContain('bob holds automatic escalation');
    expect(deadline.commands.map((c) => c.type)).toEqual(['NOTIFY']);
    // The sweep does not repeat the refusal every minute.
    expect(step(deadline.state, { type: 'SWEEP' }, { now: T0 + 660_000 }).decisions).toEqual([]);
    const operator = step(s, { type: 'OPERATOR', mode: 'FAILOVER', reason: 'on it', operator: 'bob' }, { now: T0 + 1_000 });
    expect(promotes(operator)).toEqual([{ type: 'PROMOTE', operationId: op.id, mode: 'FAILOVER' }]);
    expect(operator.commands).toContainEqual({ type: 'CANCEL_DEADLINE', operationId: op.id });
  });

  it('escalates at once when the hold is released after the deadline passed, and not before it', () => {
    const held = step(switchoverInProgress(), { type: 'HOLD', hold: true, reason: 'x', operator: 'bob' }).state;
    const release: CoreEvent = { type: 'HOLD', hold: false, reason: 'go ahead', operator: 'bob' };
    const early = step(held, release, { now: T0 + 60_000 });
    expect(early.decisions.map((d) => d.action)).toEqual(['RELEASE_ESCALATION']);
    expect(early.state.escalationHold).toBeUndefined();
    const late = step(held, release, { now: T0 + 700_000 });
    expect(late.decisions.map((d) => d.action)).toEqual(['RELEASE_ESCALATION', 'ESCALATE_TO_FAILOVER']);
    expect(promotes(late)).toHaveLength(1);
    expect(step(early.state, release).decisions.map((d) => d.action)).toEqual(['IGNORE']);
  });

  it('answers a retried request with the same idempotency key from its first outcome: one Promote', () => {
    const request: CoreEvent = { type: 'OPERATOR', mode: 'SWITCHOVER', reason: 'drill', operator: 'ann', requestKey: 'k-1' };
    const first = step(initialState('orders'), request);
    expect(promotes(first)).toHaveLength(1);
    expect(first.state.requests).toEqual([
      {
        key: 'k-1',
        kind: 'SWITCHOVER',
        dryRun: false,
        at: T0,
        action: 'START_SWITCHOVER',
        operationId: first.state.operation?.id,
      },
    ]);
    const retry = step(first.state, request, { now: T0 + 5_000 });
    expect(retry.decisions).toEqual([]);
    expect(retry.state).toBe(first.state);
    // A new key is a new request: refused, since the switchover is in flight.
    const other = step(first.state, { ...request, requestKey: 'k-2' });
    expect(other.decisions.map((d) => d.action)).toEqual(['REFUSE']);
    expect(other.state.requests?.map((r) => [r.key, r.action])).toEqual([
      ['k-1', 'START_SWITCHOVER'],
      ['k-2', 'REFUSE'],
    ]);
  });

  it('remembers the newest keyed requests only', () => {
    let s = initialState('orders');
    for (let i = 0; i < 60; i++) {
      s = step(s, { type: 'HOLD', hold: i % 2 === 0, reason: 'r', operator: 'o', requestKey: `k${i}` }).state;
    }
    expect(s.requests).toHaveLength(50);
    expect(s.requests?.[0]?.key).toBe('k10');
  });

  it('a dry-run request decides and records without Promote, also when it would interrupt a switchover', () => {
    const dry = step(initialState('orders'), { type: 'OPERATOR', mode: 'FAILOVER', reason: 'r', operator: 'a', dryRun: true });
    expect(dry.decisions).toMatchObject([{ action: 'START_FAILOVER', dryRun: true }]);
    expect(dry.state.operation).toBeUndefined();
    expect(promotes(dry)).toEqual([]);
    const s = switchoverInProgress();
    const interrupt = step(s, { type: 'OPERATOR', mode: 'FAILOVER', reason: 'r', operator: 'a', dryRun: true });
    expect(interrupt.decisions).toMatchObject([{ action: 'ESCALATE_TO_FAILOVER', dryRun: true }]);
    expect(interrupt.state.operation).toEqual(s.operation);
    expect(interrupt.commands.map((c) => c.type)).toEqual(['NOTIFY']);
  });

  it('notifies on every transition of an operation: start, accepted, escalated, completed', () => {
    const started = step(initialState('orders'), lagAlarm());
    const id = started.state.operation?.id as string;
    const accepted = step(started.state, {
      type: 'PROMOTE_RESULT',
      operationId: id,
      mode: 'SWITCHOVER',
      accepted: true,
      retryable: false,
    });
    const escalated = step(accepted.state, { type: 'DEADLINE', operationId: id }, { now: T0 + 600_000 });
    const done = step(escalated.state, { type: 'SWEEP' }, { now: T0 + 610_000, observation: promoted });
    const notified = [started, accepted, escalated, done].flatMap((o) =>
      o.commands.flatMap((c) => (c.type === 'NOTIFY' ? [c.notification.action] : [])),
    );
    expect(notified).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED', 'ESCALATE_TO_FAILOVER', 'COMPLETE']);
    expect(done.decisions[0]?.recoveryMs).toBe(610_000);
  });

  it('never lets a switchover interrupt a failover', () => {
    const s = switchoverInProgress();
    const op = s.operation as NonNullable<PairState['operation']>;
    const failing = step(s, { type: 'DEADLINE', operationId: op.id }, { now: T0 + 600_000 }).state;
    const out = step(failing, { type: 'OPERATOR', mode: 'SWITCHOVER', reason: 'x', operator: 'eve' }, { now: T0 + 601_000 });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions[0]?.reason).toContain('a switchover never interrupts a failover');
  });

  it('waits on a retryable Promote failure, re-sends from the sweep, and fails after the last attempt', () => {
    let s = step(initialState('orders'), lagAlarm()).state;
    const id = s.operation?.id as string;
    const rejected = {
      type: 'PROMOTE_RESULT',
      operationId: id,
      mode: 'SWITCHOVER',
      accepted: false,
      retryable: true,
      error: '500',
    } as const;
    const wait = step(s, rejected);
    expect(wait.decisions[0]?.action).toBe('WAIT');
    s = wait.state;
    const retry = step(s, { type: 'SWEEP' }, { now: T0 + 120_000 });
    expect(retry.decisions[0]).toMatchObject({ action: 'RETRY_PROMOTE' });
    expect(promotes(retry)).toHaveLength(1);
    s = step(retry.state, { type: 'SWEEP' }, { now: T0 + 240_000 }).state;
    const last = step(s, { type: 'SWEEP' }, { now: T0 + 360_000 });
    expect(last.state.operation?.status).toBe('FAILED');
    expect(promotes(last)).toEqual([]);
  });

  it('marks the operation in progress when the broker shows the promotion although no acceptance was recorded', () => {
    const s = step(initialState('orders'), lagAlarm()).state;
    const out = step(s, { type: 'SWEEP' }, { now: T0 + 120_000, observation: promoting });
    expect(out.state.operation?.status).toBe('SWITCHOVER_IN_PROGRESS');
    expect(promotes(out)).toEqual([]);
  });

  it('fails at once on a non-retryable rejection', () => {
    const s = step(initialState('orders'), lagAlarm()).state;
    const id = s.operation?.id as string;
    const out = step(s, {
      type: 'PROMOTE_RESULT',
      operationId: id,
      mode: 'SWITCHOVER',
      accepted: false,
      retryable: false,
      error: 'BadRequest',
    });
    expect(out.state.operation?.status).toBe('FAILED');
    expect(out.commands.map((c) => c.type)).toContain('CANCEL_DEADLINE');
  });
});

// Found by the model-based fault test (test/model): each of these once let the record lose track of a
// promotion under way, so that the pair was FAILED while Amazon MQ was still promoting.
describe('decide: never losing track of a promotion under way', () => {
  const rejected = (operationId: string, mode: 'SWITCHOVER' | 'FAILOVER', retryable: boolean) =>
    ({ type: 'PROMOTE_RESULT', operationId, mode, accepted: false, retryable, error: 'BadRequest' }) as const;

  it('waits instead of failing when a rejected Promote finds the broker promoting (an earlier answer was lost)', () => {
    const s = step(initialState('orders'), lagAlarm()).state;
    const out = step(s, rejected(s.operation?.id as string, 'SWITCHOVER', false), { observation: promoting });
    expect(out.state.operation?.status).toBe('SWITCHOVER_REQUESTED');
    expect(out.decisions).toMatchObject([{ action: 'WAIT', code: 'PROMOTION_UNDER_WAY' }]);
  });

  it('waits instead of failing when the sweep has used the last attempt but cannot see the broker', () => {
    let s = step(initialState('orders'), lagAlarm()).state;
    s = { ...s, operation: { ...(s.operation as NonNullable<PairState['operation']>), promoteAttempts: 3 } };
    const blind = step(s, { type: 'SWEEP' }, { now: T0 + 120_000, observation: unknown });
    expect(blind.decisions).toMatchObject([{ action: 'WAIT', code: 'BROKER_UNOBSERVED' }]);
    expect(step(s, { type: 'SWEEP' }, { now: T0 + 120_000 }).state.operation?.status).toBe('FAILED');
  });

  it('re-sends an escalated FAILOVER although the broker shows a promotion: it may be the stuck switchover', () => {
    const s = switchoverInProgress();
    const id = s.operation?.id as string;
    const escalated = step(s, { type: 'DEADLINE', operationId: id }, { now: T0 + 600_000, observation: promoting }).state;
    const failed = step(
      escalated,
      { ...rejected(id, 'FAILOVER', true), error: '500' },
      { now: T0 + 600_000, observation: promoting },
    ).state;
    const sweep = step(failed, { type: 'SWEEP' }, { now: T0 + 720_000, observation: promoting });
    expect(sweep.decisions).toMatchObject([{ action: 'RETRY_PROMOTE' }]);
    expect(promotes(sweep)).toEqual([{ type: 'PROMOTE', operationId: id, mode: 'FAILOVER' }]);
  });

  it('keeps waiting, never failing, when an escalated FAILOVER is refused to the last attempt during the switchover', () => {
    const s = switchoverInProgress();
    const id = s.operation?.id as string;
    let state = step(s, { type: 'DEADLINE', operationId: id }, { now: T0 + 600_000, observation: promoting }).state;
    state = { ...state, operation: { ...(state.operation as NonNullable<PairState['operation']>), promoteAttempts: 3 } };
    const out = step(state, { type: 'SWEEP' }, { now: T0 + 720_000, observation: promoting });
    expect(out.state.operation?.status).toBe('FAILOVER_REQUESTED');
    expect(out.decisions).toMatchObject([{ action: 'WAIT', code: 'PROMOTION_UNDER_WAY' }]);
    expect(promotes(out)).toEqual([]);
  });

  it('does not start an operation while the broker shows a promotion no operation records', () => {
    const out = step(initialState('orders'), lagAlarm(), { observation: promoting });
    expect(promotes(out)).toEqual([]);
    expect(out.decisions).toMatchObject([{ action: 'REFUSE', code: 'UNRECORDED_PROMOTION' }]);
  });
});

describe('decide: client redirection', () => {
  const cfg: CoreConfig = { ...config, redirect: { retryAfterMs: 60_000, maxAttempts: 3 } };
  const redirects = (o: Outcome) => o.commands.filter((c) => c.type === 'REDIRECT_CLIENTS');
  /** A switchover observed complete at T0 + 30 s, with redirection configured. */
  const completed = () => step(switchoverInProgress(), { type: 'SWEEP' }, { now: T0 + 30_000, observation: promoted, cfg });
  const result = (ok: boolean, detail = ok ? 'SSM /p = failover:(ssl://b:61617)' : 'ThrottlingException') =>
    ({ type: 'REDIRECT_RESULT', operationId: 'op-x', ok, detail }) as const;

  it('redirects clients only once the promotion is observed complete, never while it is under way', () => {
    const accepted = switchoverInProgress();
    expect(redirects(step(accepted, { type: 'SWEEP' }, { now: T0 + 10_000, observation: promoting, cfg }))).toEqual([]);
    const done = completed();
    expect(done.decisions.map((d) => d.action)).toEqual(['COMPLETE', 'REDIRECT_CLIENTS']);
    expect(redirects(done)).toEqual([{ type: 'REDIRECT_CLIENTS', operationId: done.state.operation?.id }]);
    expect(done.state.operation?.redirect).toEqual({ status: 'PENDING', attempts: 1, requestedAt: T0 + 30_000 });
    // Without the setting, a completion redirects nothing.
    expect(redirects(step(accepted, { type: 'SWEEP' }, { now: T0 + 30_000, observation: promoted }))).toEqual([]);
  });

  it('records what was written, notifies, and redirects no more', () => {
    const done = completed().state;
    const id = done.operation?.id as string;
    const ok = step(done, { ...result(true), operationId: id }, { now: T0 + 31_000, observation: promoted, cfg });
    expect(ok.decisions).toMatchObject([
      { action: 'CLIENTS_REDIRECTED', reason: expect.stringContaining('failover:(ssl://b:61617)') },
    ]);
    expect(ok.state.operation?.redirect).toMatchObject({ status: 'DONE', target: 'SSM /p = failover:(ssl://b:61617)' });
    expect(ok.commands.map((c) => c.type)).toEqual(['NOTIFY']);
    const later = step(ok.state, { type: 'SWEEP' }, { now: T0 + 3_600_000, observation: promoted, cfg });
    expect(later.decisions).toEqual([]);
  });

  it('retries a failed redirection from the sweep with doubling delays, then gives up and asks for a hand', () => {
    let s = completed().state;
    const id = s.operation?.id as string;
    const fail = (now: number) => step(s, { ...result(false), operationId: id }, { now, observation: promoted, cfg });
    const sweep = (now: number) => step(s, { type: 'SWEEP' }, { now, observation: promoted, cfg });
    let out = fail(T0 + 31_000);
    expect(out.decisions[0]?.reason).toBe('ThrottlingException; the sweep tries again in 59 s');
    s = out.state;
    expect(sweep(T0 + 89_000).decisions).toEqual([]); // 60 s after the first attempt, not yet
    out = sweep(T0 + 90_000);
    expect(out.decisions).toMatchObject([{ action: 'REDIRECT_CLIENTS', reason: expect.stringContaining('attempt 2') }]);
    s = out.state;
    s = fail(T0 + 91_000).state;
    expect(sweep(T0 + 90_000 + 119_000).decisions).toEqual([]); // the second retry waits 120 s
    s = sweep(T0 + 90_000 + 120_000).state;
    out = fail(T0 + 211_000);
    expect(out.state.operation?.redirect?.status).toBe('FAILED');
    expect(out.decisions[0]?.reason).toContain('gave up after 3 attempts');
    expect(out.commands).toMatchObject([{ type: 'NOTIFY', notification: { message: expect.stringContaining('by hand') } }]);
    expect(step(out.state, { type: 'SWEEP' }, { now: T0 + 9_000_000, observation: promoted, cfg }).decisions).toEqual([]);
  });

  it('never points clients at a broker that is a replica again, and waits while it cannot see it', () => {
    const s = step(completed().state, { ...result(false), operationId: 'op-x' }, { cfg }).state; // stale id: ignored
    const id = s.operation?.id as string;
    const failed = step(s, { ...result(false), operationId: id }, { now: T0 + 31_000, observation: promoted, cfg }).state;
    expect(step(failed, { type: 'SWEEP' }, { now: T0 + 200_000, observation: unknown, cfg }).decisions).toEqual([]);
    const swapped = step(failed, { type: 'SWEEP' }, { now: T0 + 200_000, observation: replica, cfg });
    expect(redirects(swapped)).toEqual([]);
    expect(swapped.state.operation?.redirect?.status).toBe('SUPERSEDED');
    expect(swapped.decisions[0]?.reason).toContain('REPLICA again');
  });
});

describe('decide: readiness', () => {
  const readiness = (...ids: string[]): CoreEvent => ({
    type: 'READINESS',
    failing: ids.map((id) => ({ id, detail: `${id} broken`, fix: `mend ${id}` })),
  });
  const notified = (o: Outcome) => o.commands.flatMap((c) => (c.type === 'NOTIFY' ? [c.notification.subject] : []));

  it('records a check that starts failing once, with its fix, and notifies that a failover would not work', () => {
    const out = step(initialState('orders'), readiness('redirect'));
    expect(out.decisions).toMatchObject([{ action: 'READINESS_CHANGED' }]);
    expect(out.decisions[0]?.reason).toContain('redirect fails: redirect broken (fix: mend redirect)');
    expect(notified(out)).toEqual([expect.stringContaining('not ready for a failover')]);
    expect(out.state.readinessFailing).toEqual(['redirect']);
    // The same result again decides nothing and writes nothing.
    const again = step(out.state, readiness('redirect'));
    expect(again.decisions).toEqual([]);
    expect(again.state).toBe(out.state);
  });

  it('records each change in which checks fail, in any order, and the pair ready again', () => {
    const one = step(initialState('orders'), readiness('redirect')).state;
    const two = step(one, readiness('primary', 'redirect'));
    expect(two.decisions[0]?.reason).toMatch(/^primary fails: .*; a failover would not work now \(primary, redirect failing\)$/);
    expect(step(two.state, readiness('redirect', 'primary')).decisions).toEqual([]);
    const back = step(two.state, readiness());
    expect(back.decisions[0]?.reason).toBe('primary, redirect pass again; a failover would work now');
    expect(notified(back)).toEqual([expect.stringContaining('ready for a failover again')]);
    expect(back.state.readinessFailing).toEqual([]);
    // A healthy pair never evaluated before: nothing to record.
    expect(step(initialState('orders'), readiness()).decisions).toEqual([]);
  });

  it('never starts, escalates or promotes anything, whatever fails', () => {
    const s = switchoverInProgress();
    const out = step(s, readiness('primary', 'metrics', 'peer-stack'), { now: T0 + 900_000 });
    expect(out.commands.map((c) => c.type)).toEqual(['NOTIFY']);
    expect(out.state.operation).toEqual(s.operation);
  });
});

describe('decide: invariants over random event sequences', () => {
  const observationArb = fc.constantFrom(replica, promoting, promoted, unknown);
  const eventArb = (ids: string[]): fc.Arbitrary<CoreEvent> =>
    fc.oneof<fc.Arbitrary<CoreEvent>[]>(
      fc.constantFrom<CoreEvent>(
        lagAlarm('ALARM'),
        lagAlarm('OK'),
        { type: 'SWEEP' },
        { type: 'PROBE', healthy: false, detail: 'x' },
      ),
      fc.record({
        type: fc.constant('OPERATOR' as const),
        mode: fc.constantFrom('SWITCHOVER' as const, 'FAILOVER' as const),
        reason: fc.constant('r'),
        operator: fc.constant('o'),
        requestKey: fc.constantFrom('k1', 'k2', 'k3'),
        dryRun: fc.boolean(),
      }),
      fc.record({
        type: fc.constant('HOLD' as const),
        hold: fc.boolean(),
        reason: fc.constant('r'),
        operator: fc.constant('o'),
        requestKey: fc.constantFrom('k1', 'k4'),
      }),
      fc.record({
        type: fc.constant('PROMOTE_RESULT' as const),
        operationId: fc.constantFrom('op-1', 'op-2', ...ids),
        mode: fc.constantFrom('SWITCHOVER' as const, 'FAILOVER' as const),
        accepted: fc.boolean(),
        retryable: fc.boolean(),
      }),
      fc.record({ type: fc.constant('DEADLINE' as const), operationId: fc.constantFrom('op-1', 'op-2', ...ids) }),
      fc.record({
        type: fc.constant('READINESS' as const),
        failing: fc.subarray(['primary', 'metrics', 'redirect']).map((f) => f.map((id) => ({ id, detail: 'd' }))),
      }),
      fc.record({
        type: fc.constant('REDIRECT_RESULT' as const),
        operationId: fc.constantFrom('op-1', 'op-2', ...ids),
        ok: fc.boolean(),
        detail: fc.constant('d'),
      }),
    );
  const withRedirect: CoreConfig = { ...config, redirect: { retryAfterMs: 60_000, maxAttempts: 3 } };

  it('never promotes a broker not observed as REPLICA, never switches over during a failover, and records every change', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(eventArb([]), observationArb, fc.integer({ min: 0, max: 400_000 })), { maxLength: 40 }),
        (steps) => {
          let s = initialState('orders');
          let now = T0;
          let seq = 0;
          for (const [event, observation, dt] of steps) {
            now += dt;
            const before = s;
            const out = decide(s, event, { now, observation, config: withRedirect, newOperationId: () => `op-${++seq}` });
            // Clients are pointed only at a broker just observed the running primary.
            if (out.commands.some((c) => c.type === 'REDIRECT_CLIENTS')) expect(observation).toEqual(promoted);
            for (const p of promotes(out)) {
              expect(observation.role).toBe('REPLICA');
              if (p.mode === 'SWITCHOVER')
                expect(
                  before.operation?.mode === 'FAILOVER' &&
                    before.operation.status !== 'COMPLETED' &&
                    before.operation.status !== 'FAILED',
                ).toBe(false);
            }
            expect(promotes(out).length).toBeLessThanOrEqual(1);
            // A keyed request already handled decides nothing again (a completion, or a promotion gone, observed
            // meanwhile is recorded).
            if ((event.type === 'OPERATOR' || event.type === 'HOLD') && findRequest(before, event.requestKey)) {
              const observed = ['COMPLETE', 'REDIRECT_CLIENTS', 'FAIL'];
              expect(out.decisions.filter((d) => !observed.includes(d.action))).toEqual([]);
              expect(out.state.requests).toEqual(before.requests);
            }
            // Under a hold, only an operator's own request escalates.
            if (before.escalationHold && event.type !== 'OPERATOR' && event.type !== 'HOLD') {
              expect(out.decisions.some((d) => d.action === 'ESCALATE_TO_FAILOVER')).toBe(false);
            }
            if (out.state !== before) {
              expect(out.decisions.length).toBeGreaterThan(0);
              expect(out.state.version).toBe(before.version + 1);
            }
            s = out.state;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
