/**
 * `npm start -- --scenario readiness`: would a failover work now, asked of a healthy pair and then of pairs
 * each broken in one way, on both Regions as deployed (simulator/two-regions.ts). Each case is a fresh
 * deployment that runs for 3 minutes; then the fault, the scheduled evaluation (what it records in the
 * timeline) and `mqdr doctor` from the replica's Region, as an operator runs it. The drill fails unless the
 * healthy pair passes every check and each fault fails its own check; every check has a fault here.
 */
import { type Io, main } from '#cli/mqdr.ts';
import { LOCAL_CREDENTIALS, ManualClock, PRIMARY_REGION, REPLICA_REGION } from '#simulator/embedded.ts';
import { PairDriver, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';

const START = Date.parse('2026-11-23T09:00:00Z');
const MINUTE = 60_000;

export interface ReadinessCase {
  /** The check that must fail (undefined: the healthy pair, where every check must pass). */
  check?: string;
  what: string;
  env?: Record<string, string>;
  /** Before the deployment's first 3 minutes. */
  before?(p: TwoRegions): void;
  /** After them: the fault, and the time it takes to show. */
  inject?(p: TwoRegions, driver: PairDriver, clock: ManualClock): void | Promise<void>;
}

export const READINESS_CASES: ReadinessCase[] = [
  { what: 'a healthy pair, its redirect parameter written once in both Regions (the fix its WARN names)' },
  {
    check: 'local-broker',
    what: "the stacks deployed with another pair's broker as REMOTE_BROKER_ID",
    env: { REMOTE_BROKER_ID: 'b-00000000-0000-0000-0000-000000000000' },
  },
  {
    check: 'primary',
    // Asked before the replica's stack fails over (75 s later): what doctor says as an outage starts.
    what: `${PRIMARY_REGION}, the primary's Region, goes down`,
    inject: (p) => {
      p.world.setRegionUp(PRIMARY_REGION, false);
    },
  },
  {
    check: 'metrics',
    what: `CloudWatch impaired in ${PRIMARY_REGION}, where the primary publishes its CRDR metrics`,
    inject: (p) => {
      p.world.servicesDown.add(`cloudwatch:${PRIMARY_REGION}`);
    },
  },
  {
    check: 'peer-stack',
    what: `${PRIMARY_REGION}'s stack silent for 5 minutes (its Region up, its functions not running)`,
    inject: async (p, _driver, clock) => {
      clock.advance(5 * MINUTE);
      await p.world.syncListeners();
    },
  },
  {
    check: 'view-replication',
    what: `the pair view replicating ${PRIMARY_REGION} → ${REPLICA_REGION} only, for 11 minutes`,
    inject: async (p, driver) => {
      p.replication.blockedTo.add(PRIMARY_REGION);
      await driver.play(14 * MINUTE);
    },
  },
  {
    check: 'probe-endpoints',
    what: "a private primary: the replica Region's health check has no route to its endpoints",
    before: (p) => p.world.endpointsPrivate.add(p.world.roles(p.pairName).primary.id),
  },
  {
    check: 'redirect',
    what: `the redirect parameter deleted in ${REPLICA_REGION}`,
    inject: (p) => {
      const name = p.stacks[REPLICA_REGION].runtime.config.redirect?.parameterName ?? '';
      p.world.parameters.get(REPLICA_REGION)?.delete(name);
    },
  },
  {
    check: 'deadline-schedule',
    what: `the stacks' EventBridge Scheduler group deleted in ${REPLICA_REGION} (deadlines cannot be scheduled there)`,
    env: {
      ESCALATE_FUNCTION_ARN: 'arn:aws:lambda:us-west-2:123456789012:function:mq-crdr-orders-escalate',
      SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/mq-crdr-orders-scheduler',
      SCHEDULE_GROUP: 'mq-crdr-orders',
    },
    before: (p) => {
      for (const region of [PRIMARY_REGION, REPLICA_REGION]) p.world.createScheduleGroup(region, 'mq-crdr-orders');
    },
    inject: (p) => {
      p.world.scheduleGroups.get(REPLICA_REGION)?.delete('mq-crdr-orders');
    },
  },
  {
    check: 'api-budget',
    what: "the account's Amazon MQ API budget spent by other callers: every call throttled (429), after the SDK's retries",
    inject: (p) => {
      p.world.mqBudgetSpent = true;
    },
  },
];

/** `mqdr` as an operator runs it against the replica Region's API, its lines collected in `out`. */
export function operatorIo(p: TwoRegions, clock: ManualClock): { io: Io; out: string[] } {
  const out: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    env: { MQDR_ENDPOINT: p.stacks[REPLICA_REGION].apiEndpoint },
    localCredentials: LOCAL_CREDENTIALS,
    now: () => clock.now(),
    sleep: async () => undefined,
  };
  return { io, out };
}

export interface CaseOutcome {
  case: ReadinessCase;
  exitCode: number;
  /** Every check doctor printed, and those that failed. */
  checks: string[];
  failed: string[];
  caught: boolean;
}

/** One case: deploy, run 3 minutes, break, evaluate on schedule and with `mqdr doctor`; `say` prints. */
export async function playReadinessCase(c: ReadinessCase, say: (line: string) => void): Promise<CaseOutcome> {
  const clock = new ManualClock(START);
  const p = await startTwoRegions({ clock, ...(c.env ? { env: c.env } : {}) });
  try {
    c.before?.(p);
    const driver = new PairDriver(p, clock);
    await driver.play(3 * MINUTE);
    await p.stacks[PRIMARY_REGION].runtime.orchestrator.redirector?.redirect(p.stacks[PRIMARY_REGION].local.id);
    // A scheduled evaluation before the fault (a fault of the deployment itself shows here), and one after.
    const replica = p.stacks[REPLICA_REGION];
    const runs = [await replica.invoke.readiness()];
    await c.inject?.(p, driver, clock);
    runs.push(await replica.invoke.readiness());
    for (const d of runs.flatMap((r) => r.decisions)) say(`  scheduled evaluation: ${d.action}: ${d.reason}`);
    say(`  ReadinessChecksFailing = ${runs.map((r) => r.gauges?.[0]?.value ?? 0).join(', then ')}`);
    const { io, out } = operatorIo(p, clock);
    say(`  $ mqdr doctor ${p.pairName}`);
    const exitCode = await main(['doctor', p.pairName], io);
    for (const line of out) say(`    ${line}`);
    const rows = out.flatMap((l) => {
      const row = /^(\S+)\s+(PASS|WARN|FAIL)\b/.exec(l);
      return row?.[1] && row[2] ? [{ id: row[1], status: row[2] }] : [];
    });
    const failed = rows.filter((r) => r.status === 'FAIL').map((r) => r.id);
    const caught = c.check === undefined ? exitCode === 0 && failed.length === 0 : failed.includes(c.check);
    return { case: c, exitCode, checks: rows.map((r) => r.id), failed, caught };
  } finally {
    await p.close();
  }
}

export async function runReadinessDrill(): Promise<boolean> {
  console.log(
    '\nDrill "readiness": a healthy pair, then one fault at a time, each on a fresh deployment of both Regions; the scheduled evaluation and mqdr doctor from the replica\'s Region',
  );
  const outcomes: CaseOutcome[] = [];
  for (const c of READINESS_CASES) {
    console.log(`\n${c.check ? `BREAK ${c.check}` : 'HEALTHY'}: ${c.what}`);
    outcomes.push(await playReadinessCase(c, (line) => console.log(line)));
  }
  console.log('\nOutcome');
  for (const o of outcomes) {
    const verdict = o.case.check
      ? `${o.caught ? 'caught' : 'MISSED'}: ${o.failed.join(', ') || 'nothing'} failed (exit ${o.exitCode})`
      : `${o.caught ? 'every check passes' : `NOT READY: ${o.failed.join(', ')}`} (exit ${o.exitCode})`;
    console.log(`  ${(o.case.check ?? 'healthy').padEnd(18)} ${verdict}`);
  }
  return outcomes.every((o) => o.caught);
}
