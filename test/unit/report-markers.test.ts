/** The report's markers follow the decisions: the failover says what set it off, and a deadline shows only if met. */
import { describe, expect, it } from 'vitest';
import { markersOf } from '#cli/report.ts';
import type { Decision } from '#lib/core/model.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
const d = (minute: number, action: Decision['action'], extra: Partial<Decision> = {}): Decision => ({
  at: T0 + minute * MIN,
  event: 'sweep',
  action,
  reason: 'r',
  status: 'SWITCHOVER_IN_PROGRESS',
  operationId: 'op-1',
  ...extra,
});

describe('report markers', () => {
  it('an outage escalation before the deadline: the failover says "outage", and no deadline is drawn after it', () => {
    const markers = markersOf(
      [d(1, 'START_SWITCHOVER'), d(3, 'ESCALATE_TO_FAILOVER', { escalatedBy: 'outage' }), d(3.1, 'COMPLETE'), d(20, 'IGNORE')],
      10 * MIN,
    );
    expect(markers.map((m) => m.label)).toEqual(['switchover op-1', 'failover (outage)', 'new primary']);
  });

  it('a deadline that came is drawn, and the escalation at it says "deadline" (the sweep backstop too)', () => {
    for (const by of ['deadline', 'sweep'] as const) {
      const markers = markersOf([d(1, 'START_SWITCHOVER'), d(11, 'ESCALATE_TO_FAILOVER', { escalatedBy: by })], 10 * MIN);
      expect(markers.map((m) => [m.kind, m.label])).toEqual([
        ['switchover', 'switchover op-1'],
        ['deadline', 'deadline (600 s)'],
        ['failover', 'failover (deadline)'],
      ]);
    }
  });

  it("an operator's failover and an operator's escalation say so", () => {
    expect(markersOf([d(1, 'START_FAILOVER')]).map((m) => m.label)).toEqual(['failover (operator)']);
    const escalated = markersOf(
      [d(1, 'START_SWITCHOVER'), d(2, 'ESCALATE_TO_FAILOVER', { escalatedBy: 'operator', operator: 'eve' })],
      10 * MIN,
    );
    expect(escalated.map((m) => m.label)).toEqual(['switchover op-1', 'failover (operator)']);
  });
});
