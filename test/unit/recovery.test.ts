import { describe, expect, it } from 'vitest';
import { decide, milestonesOf, recoveryOf } from '#lib/core/decide.ts';
import type { CoreConfig } from '#lib/core/model.ts';
import { type BrokerObservation, type CoreEvent, initialState, type PairState } from '#lib/core/model.ts';
import { coreConfig, lagAlarm, MIN, primary, replica, T0 } from '../support/core-fixtures.ts';

const step = (state: PairState, event: CoreEvent, now: number, observation: BrokerObservation = replica) =>
  decide(state, event, { now, observation, config: coreConfig, newOperationId: () => 'op-1' });
const failed: CoreEvent = { type: 'PROBE', healthy: false, detail: 'no answer' };
const healthy: CoreEvent = { type: 'PROBE', healthy: true, detail: 'ok' };

describe('one definition of recovery time: from the first evidence and from the start, to the takeover', () => {
  it('a health-check switchover counts from the first failed probe of its streak', () => {
    let s = initialState('orders');
    s = step(s, failed, T0).state;
    s = step(s, healthy, T0 + MIN).state; // the streak ends: it no longer counts
    s = step(s, failed, T0 + 2 * MIN).state;
    s = step(s, failed, T0 + 3 * MIN).state;
    const started = step(s, failed, T0 + 4 * MIN);
    expect(started.state.operation).toMatchObject({ evidenceAt: T0 + 2 * MIN, startedAt: T0 + 4 * MIN });
    const done = step(started.state, { type: 'SWEEP' }, T0 + 5 * MIN, primary);
    const complete = done.decisions.find((d) => d.action === 'COMPLETE');
    expect(complete).toMatchObject({ evidenceMs: 3 * MIN, recoveryMs: MIN });
    // The API and the CLI read the same figures from the record.
    expect(recoveryOf(done.state.operation as NonNullable<PairState['operation']>)).toEqual({
      evidenceMs: 3 * MIN,
      recoveryMs: MIN,
    });
  });

  it('an alarm counts from its state change; an operator from the request; nothing before the takeover', () => {
    const alarm = step(initialState('orders'), { ...lagAlarm(), sentAt: T0 - 20_000 } as CoreEvent, T0);
    expect(alarm.state.operation?.evidenceAt).toBe(T0 - 20_000);
    expect(recoveryOf(alarm.state.operation as NonNullable<PairState['operation']>)).toBeUndefined();
    const operator = step(initialState('orders'), { type: 'OPERATOR', mode: 'FAILOVER', reason: 'now', operator: 'alice' }, T0);
    expect(operator.state.operation?.evidenceAt).toBe(T0);
  });

  it('every operation records its steps: detected, decided, Promote accepted, primary running, clients redirected', () => {
    const cfg: CoreConfig = { ...coreConfig, redirect: { retryAfterMs: MIN, maxAttempts: 3 } };
    const at = (state: PairState, event: CoreEvent, now: number, observation: BrokerObservation = replica) =>
      decide(state, event, { now, observation, config: cfg, newOperationId: () => 'op-1' });
    const started = at(initialState('orders'), { ...lagAlarm(), sentAt: T0 - 20_000 } as CoreEvent, T0).state;
    const op = () => s.operation as NonNullable<PairState['operation']>;
    let s = started;
    expect(milestonesOf(op()).map((m) => [m.name, m.afterEvidenceMs])).toEqual([
      ['detected', 0],
      ['decided', 20_000],
      ['Promote accepted', undefined],
      ['primary running', undefined],
      ['clients redirected', undefined],
    ]);
    s = at(
      s,
      { type: 'PROMOTE_RESULT', operationId: 'op-1', mode: 'SWITCHOVER', accepted: true, retryable: false },
      T0 + 1_000,
    ).state;
    s = at(s, { type: 'SWEEP' }, T0 + 2 * MIN, primary).state;
    expect(milestonesOf(op()).at(-1)).toEqual({ name: 'clients redirected', status: 'PENDING' });
    s = at(s, { type: 'REDIRECT_RESULT', operationId: 'op-1', ok: true, detail: 'written' }, T0 + 2 * MIN + 3_000, primary).state;
    expect(milestonesOf(op()).map((m) => [m.name, m.at, m.afterEvidenceMs])).toEqual([
      ['detected', T0 - 20_000, 0],
      ['decided', T0, 20_000],
      ['Promote accepted', T0 + 1_000, 21_000],
      ['primary running', T0 + 2 * MIN, 2 * MIN + 20_000],
      ['clients redirected', T0 + 2 * MIN + 3_000, 2 * MIN + 23_000],
    ]);
    // Primary running is the takeover recovery is measured to: the two agree.
    expect(recoveryOf(op())?.evidenceMs).toBe(2 * MIN + 20_000);
  });
});
