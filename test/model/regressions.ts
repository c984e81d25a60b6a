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
  {
    // seed 20261123: the same race, with the alarm's invocation crashing right after its Promote.
    name: 'the same race when the invocation that promoted crashes right after Promote',
    scenario: {
      load: { produceRate: 0, drainRate: 50, backlog: 0 },
      steps: [
        { t: 'crash', at: 'after-promote' },
        {
          t: 'concurrent',
          steps: [
            { t: 'operator', kind: 'FAILOVER', retry: false, dryRun: false },
            { t: 'redeliver', back: 0 },
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
          ],
        },
        {
          t: 'concurrent',
          steps: [
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
          ],
        },
      ],
    },
  },
  {
    // seed 1, before the fix: the failover escalating a switchover stuck behind a partition was refused (400),
    // and the operation was FAILED while the switchover was still under way. Now it waits for it.
    name: 'a refused escalation does not fail the operation while the switchover is still under way',
    scenario: {
      load: { produceRate: 0, drainRate: 50, backlog: 1 },
      steps: [
        {
          t: 'concurrent',
          steps: [
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
          ],
        },
        { t: 'partition', on: true },
        { t: 'mqFault', operation: 'Promote', fault: 'bad-request', count: 1 },
        { t: 'tick', seconds: 120 },
        { t: 'probe' },
      ],
    },
  },
  {
    // seed 11, before the fix: the escalated FAILOVER was throttled (429); the sweep then took the switchover's
    // pending role for the failover's, marked it in progress and never sent it again, so the pair stayed behind
    // the partition until the switchover drained. Now the sweep re-sends the FAILOVER.
    name: 'an escalated failover whose Promote was throttled is sent again, not mistaken for the pending switchover',
    scenario: {
      load: { produceRate: 133, drainRate: 50, backlog: 19_414 },
      steps: [
        { t: 'tick', seconds: 140 },
        { t: 'tick', seconds: 136 },
        {
          t: 'concurrent',
          steps: [{ t: 'alarm', kind: 'lag', state: 'ALARM' }, { t: 'probe' }],
        },
        { t: 'concurrent', steps: [{ t: 'probe' }, { t: 'sweep' }] },
        { t: 'mqFault', operation: 'Promote', fault: 'throttle', count: 1 },
        { t: 'partition', on: true },
        { t: 'sweep' },
        { t: 'endpoints', up: false },
        { t: 'tick', seconds: 25 },
        { t: 'alarm', kind: 'lag', state: 'ALARM' },
        { t: 'tick', seconds: 117 },
      ],
    },
  },
  {
    // seed 20261124: the switchover completed while the new primary's endpoints refused connections; the
    // simulator then listed no endpoint for it, every redirection failed, and the backoff outlasted the rest
    // period (I7). DescribeBroker now lists a primary's endpoints whatever their state, as on AWS.
    name: 'clients are redirected after a promotion that completed while the endpoints were down',
    scenario: {
      load: { produceRate: 0, drainRate: 50, backlog: 0 },
      steps: [
        { t: 'endpoints', up: false },
        {
          t: 'concurrent',
          steps: [
            { t: 'operator', kind: 'SWITCHOVER', retry: false, dryRun: false },
            { t: 'sweep' },
            { t: 'redeliver', back: 0 },
          ],
        },
        { t: 'tick', seconds: 270 },
        { t: 'tick', seconds: 69 },
        { t: 'partition', on: false },
        { t: 'tick', seconds: 175 },
        { t: 'alarm', kind: 'lag', state: 'ALARM' },
        { t: 'tick', seconds: 177 },
        { t: 'probe' },
        { t: 'tick', seconds: 236 },
        { t: 'region', which: 'replica', up: true },
        { t: 'ddbFault', operation: 'PutItem', fault: 'conditional-failure', count: 2 },
        { t: 'probe' },
        { t: 'ddbFault', operation: 'Query', fault: 'lost-response', count: 3 },
        { t: 'tick', seconds: 210 },
        { t: 'tick', seconds: 154 },
        { t: 'probe' },
        {
          t: 'concurrent',
          steps: [{ t: 'alarm', kind: 'lag', state: 'ALARM' }, { t: 'probe' }, { t: 'alarm', kind: 'health', state: 'OK' }],
        },
        {
          t: 'concurrent',
          steps: [
            { t: 'alarm', kind: 'health', state: 'ALARM' },
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
            { t: 'alarm', kind: 'lag', state: 'ALARM' },
          ],
        },
        { t: 'tick', seconds: 270 },
        { t: 'partition', on: false },
        { t: 'tick', seconds: 299 },
      ],
    },
  },
];
