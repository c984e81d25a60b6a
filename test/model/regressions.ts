/** Scenarios the model-based test once failed on, shrunk by fast-check; each is played before the random ones. */
import type { Scenario } from './model.ts';

export const REGRESSIONS: Array<{ name: string; scenario: Scenario }> = [
  {
    // seed 100: an operator failover racing an alarm whose switchover completes at once (no backlog) sends
    // FAILOVER to the broker that has just become the primary; Amazon MQ refuses it and the record completes.
    name: 'an escalation racing an instant switchover reaches the new primary, is refused, and the record completes',
    scenario: {
      load: { produceRate: 0, drainRate: 50, backlog: 0 },
      steps: [
        {
          t: 'concurrent',
          steps: [
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
            { t: 'redeliver', back: 0 },
            { t: 'operator', kind: 'FAILOVER', retry: false, dryRun: false },
          ],
        },
        { t: 'tick', seconds: 1 },
      ],
    },
  },
];
