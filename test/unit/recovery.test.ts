import { describe, expect, it } from 'vitest';
import { decide, recoveryOf } from '#lib/core/decide.ts';
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
});
