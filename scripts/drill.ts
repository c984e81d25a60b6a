/**
 * `npm start [-- --scenario NAME]`: a disaster drill on the embedded default, on a compressed clock.
 *
 * The drill plays the parts AWS plays in production: CloudWatch (evaluating the TotalReplicationLag alarm
 * every minute and delivering its state changes through EventBridge), the rate(1 minute) health-check and
 * sweep schedules, and EventBridge Scheduler (the local scheduler fires the real escalate handler). The
 * orchestrator's handlers, the SDK clients, the simulator and dynalite are the real code.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { milestonesText } from '#cli/mqdr.ts';
import { type ClientsSpan, type Marker, markersOf, renderReport } from '#cli/report.ts';
import { commandLine } from '#dedup/command-line.ts';
import type { HandlerResult } from '#functions/shared.ts';
import { milestonesOf } from '#lib/core/decide.ts';
import type { Decision } from '#lib/core/model.ts';
import { describeRpo } from '#lib/core/rpo.ts';
import {
  alarmStateChangeEvent,
  type Embedded,
  ManualClock,
  PRIMARY_REGION,
  ReplicationAlarms,
  startEmbedded,
} from '#simulator/embedded.ts';
import type { SimBroker } from '#simulator/world.ts';
import { pairScenarios, runPairDrill } from './pair-drill.ts';
import { runReadinessDrill } from './readiness-drill.ts';

const START = Date.parse('2026-11-23T09:00:00Z');
const TICK_MS = 5_000;
const MINUTE = 60_000;

interface Scenario {
  description: string;
  env?: Record<string, string>;
  pair?: { produceRate?: number; drainRate?: number };
  /** Runs at each tick before the periodic triggers; returns notes for the timeline. */
  script(t: number, e: Embedded, fire: (event: unknown) => Promise<void>): Promise<string | undefined>;
  durationMs: number;
  /** When the incident starts; time to recovery counts from here (else from the first start decision). */
  incidentAt?: number;
}

const lagAlarm = 'orders-replication-lag';

/** The incident of the failover drill: the inter-Region link fails first, then the whole primary Region. */
async function primaryRegionOutage(t: number, e: Embedded): Promise<string | undefined> {
  if (t === MINUTE) {
    e.world.setPartitioned(true);
    return `${PRIMARY_REGION} degrades: inter-Region link down, the primary still takes writes`;
  }
  if (t === 3 * MINUTE) {
    e.world.setRegionUp(PRIMARY_REGION, false);
    return `${PRIMARY_REGION} goes down: the primary's API and endpoints are unreachable`;
  }
  return undefined;
}

/**
 * The worst day with the default settings: the whole primary Region goes down, or hangs, just after a probe
 * found it healthy (T+1:05), the slowest moment for the probes to notice.
 */
const worstDay = (how: 'down' | 'hang'): Scenario => ({
  incidentAt: MINUTE + TICK_MS,
  description:
    how === 'down'
      ? `${PRIMARY_REGION} goes down (API errors, endpoints refuse): default deadline, probes and alarms`
      : `${PRIMARY_REGION} hangs (API and endpoints accept connections, never answer): default settings`,
  // The embedded default probes with 500 ms; the drill keeps the deployed default.
  env: { PROBE_TIMEOUT_MS: '3000' },
  async script(t, e) {
    if (t !== MINUTE + TICK_MS) return undefined;
    if (how === 'down') e.world.setRegionUp(PRIMARY_REGION, false);
    else e.world.setRegionHung(PRIMARY_REGION, true);
    return `${PRIMARY_REGION} ${how === 'down' ? 'goes down' : 'hangs'}: the lag alarm there goes silent, only the probes from ${e.replica.region} can tell`;
  },
  durationMs: 16 * MINUTE,
});

const scenarios: Record<string, Scenario> = {
  'region-down': worstDay('down'),
  'region-hang': worstDay('hang'),
  failover: {
    incidentAt: MINUTE,
    description:
      'the link, then the whole primary Region fail → failed probes start a switchover → it cannot complete → failover once the outage is confirmed, before the 300 s deadline',
    env: { DEADLINE_SECONDS: '300' },
    script: primaryRegionOutage,
    durationMs: 12 * MINUTE,
  },
  'healthy-switchover': {
    description:
      'a replication link slowdown raises the lag alarm (over 120 s for 3 minutes); the switchover drains and completes in time',
    env: { DEADLINE_SECONDS: '600' },
    // Producers outrun the link 3 to 1: each event waits longer to be acknowledged (TotalReplicationLag grows).
    pair: { produceRate: 300, drainRate: 100 },
    async script(t, e) {
      // Producers outrun the link until the operators' traffic shift lowers the load.
      if (t === 5 * MINUTE) {
        e.world.setProduceRate(e.pairName, 50);
        return 'producers back to 50 msg/s';
      }
      return undefined;
    },
    durationMs: 20 * MINUTE,
  },
  'duplicate-delivery': {
    incidentAt: MINUTE,
    description: 'EventBridge delivers the same alarm event twice to two concurrent invocations: one Promote',
    env: { DEADLINE_SECONDS: '300' },
    async script(t, e) {
      if (t === MINUTE) {
        e.world.setPartitioned(true);
        return `${PRIMARY_REGION} degrades: inter-Region link down`;
      }
      if (t === 2 * MINUTE) {
        printLine(
          e.world.clock.now() - START,
          'drill',
          'INJECT',
          'the lag alarm event delivered twice, to two concurrent invocations',
        );
        const event = alarmStateChangeEvent(lagAlarm, 'ALARM', 'OK', START + t);
        // Launched, as AWS would: the one that promotes watches the switchover, and the drill's clock goes on.
        for (const i of [1, 2]) void e.invoke.onAlarm(event).then((r) => printDecisions(r, `onAlarm #${i}`));
      }
      if (t === 4 * MINUTE) {
        e.world.setPartitioned(false);
        return 'inter-Region link restored: the switchover can drain';
      }
      return undefined;
    },
    durationMs: 10 * MINUTE,
  },
  'dry-run': {
    incidentAt: MINUTE,
    description: 'the failover drill with DRY_RUN=true: decisions recorded, Promote never called',
    env: { DRY_RUN: 'true', DEADLINE_SECONDS: '300' },
    script: primaryRegionOutage,
    durationMs: 8 * MINUTE,
  },
};

/** The simulator's log of who accepted clients, as spans named like the report's series. */
function clientSpans(
  log: Array<{ at: number; brokerId: string | null }>,
  end: number,
  brokerOf: (id: string) => SimBroker | undefined,
): ClientsSpan[] {
  return log.map((entry, i) => {
    const broker = entry.brokerId === null ? undefined : brokerOf(entry.brokerId);
    return { from: entry.at, to: log[i + 1]?.at ?? end, broker: broker ? `${broker.name} (${broker.region})` : null };
  });
}

const clockText = (t: number): string => {
  const s = Math.round(t / 1000);
  return `T+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * The timeline's lines, printed in time order by `flushLines`: invocations run side by side (a health check
 * probes for most of its minute) and end out of order.
 */
let lines: Array<{ t: number; text: string }> = [];
let lastPrinted = -1;
function printLine(t: number, what: string, action: string, reason: string): void {
  lines.push({ t, text: `${clockText(t)}  ${what.padEnd(44).slice(0, 44)}  ${action.padEnd(22)}  ${reason}` });
  lastPrinted = Math.max(lastPrinted, t);
}
function flushLines(): void {
  for (const line of lines.sort((a, b) => a.t - b.t)) console.log(line.text);
  lines = [];
}

let printDecisions: (r: HandlerResult, via: string) => void = () => undefined;

async function run(name: string, scenario: Scenario, reportPath: string): Promise<void> {
  const clock = new ManualClock(START);
  let seq = 0;
  const embedded = await startEmbedded({
    clock,
    env: { COOLDOWN_SECONDS: '900', ...scenario.env },
    ...(scenario.pair ? { pair: scenario.pair } : {}),
    newOperationId: () => `op-${++seq}`,
    onScheduledResult: (result) => printDecisions(result, 'escalate(deadline)'),
  });
  const { world, invoke, pairName, scheduler, runtime } = embedded;
  const elapsed = () => clock.now() - START;
  const seen: Decision[] = [];
  printDecisions = (result, via) => {
    for (const d of result.decisions) {
      seen.push(d);
      printLine(d.at - START, `${via}: ${d.event}`, d.dryRun ? `${d.action} (dry)` : d.action, d.reason);
    }
  };

  console.log(`\nDrill "${name}": ${scenario.description}`);
  console.log(
    `pair ${pairName}: primary ${embedded.primary.id} (${embedded.primary.region}), replica ${embedded.replica.id} (${embedded.replica.region})`,
  );
  console.log(
    `deadline ${runtime.config.deadlineMs / 1000} s, cooldown ${runtime.config.cooldownMs / 1000} s, ` +
      `${runtime.config.probeFailureThreshold} failed probes to trigger, dry run ${runtime.config.dryRun}; 1 tick = ${TICK_MS / 1000} s\n`,
  );
  console.log(`${'time'.padEnd(8)}  ${'event'.padEnd(44)}  ${'decision'.padEnd(22)}  reason`);

  // The replication alarms of the primary's stack (serverless.yml's), forwarded to the replica's Region.
  const alarms = new ReplicationAlarms(world, [embedded.primary], { pairId: pairName, lagAlarmName: () => lagAlarm });
  const incidents: Marker[] = [];
  const outageAt = scenario.incidentAt;
  /** When the incident was injected by the clock (late if an invocation was watching at its nominal tick). */
  let incidentClock: number | undefined;
  let recoveredAt: number | undefined;
  let invocations = 0;
  let failedInvocations = 0;
  let longestMs = 0;
  /** One invocation, timed in real time against its budget; a failure is reported, not thrown. */
  const call = async (invocation: () => Promise<HandlerResult>): Promise<HandlerResult | string> => {
    invocations += 1;
    const started = performance.now();
    try {
      return await invocation();
    } catch (error) {
      failedInvocations += 1;
      return error instanceof Error ? error.message : String(error);
    } finally {
      longestMs = Math.max(longestMs, performance.now() - started);
    }
  };
  /** Invocations that AWS runs at the same moment run at once here too, each on its own until it ends. */
  const together = async (calls: Array<[string, () => Promise<HandlerResult>]>) => {
    const at = elapsed();
    await Promise.all(
      calls.map(async ([via, invocation]) => {
        const result = await call(invocation);
        if (typeof result === 'string') printLine(at, via, 'INVOCATION FAILED', result);
        else printDecisions(result, via);
      }),
    );
  };
  // Launched, not awaited inside a tick: the invocation may watch a promotion while the clock goes on.
  const fire = async (event: unknown) => void together([['onAlarm', () => invoke.onAlarm(event)]]);

  try {
    // Each tick at its time: the invocations asleep until then (a health check between probes, a watch) wake
    // first; what the tick starts runs on its own, until it sleeps or ends.
    await clock.drive(async () => {
      for (let t = 0; t <= scenario.durationMs; t += TICK_MS) {
        await clock.wakeDue(START + t);
        if (clock.now() < START + t) clock.advance(START + t - clock.now());
        await world.syncListeners();
        const note = await scenario.script(t, embedded, fire);
        await world.syncListeners();
        if (note) {
          if (t === outageAt) incidentClock = clock.now();
          printLine(elapsed(), 'drill', 'INJECT', note);
          incidents.push({ at: clock.now(), kind: 'incident', label: note.split(':')[0] ?? note });
        }

        // EventBridge Scheduler: deadlines that are due fire the real escalate handler.
        await scheduler.runDue();

        if (t % MINUTE === 0) {
          // Once a minute: CloudWatch evaluates the replication alarms, the health check and the sweep fire, all at once.
          const changes = alarms.evaluate(clock.now());
          for (const change of changes) {
            printLine(
              elapsed(),
              'cloudwatch',
              'ALARM STATE',
              `${change.alarm.definition.AlarmName} ${change.from}→${change.to} (${change.reason})`,
            );
          }
          const alarmEvents = name === 'duplicate-delivery' ? [] : changes.map((c) => c.event);
          void together([
            ...alarmEvents.map((event) => ['onAlarm', () => invoke.onAlarm(event)] as [string, () => Promise<HandlerResult>]),
            ['healthCheck', () => invoke.healthCheck()],
            ['sweep', () => invoke.escalate({ kind: 'sweep' })],
          ]);
        }

        // The simulator logs the moment the new primary starts taking clients (its promotion's completion).
        const accepting = world.acceptingSince(pairName, embedded.replica.id);
        if (recoveredAt === undefined && accepting !== undefined) {
          recoveredAt = accepting - START;
          printLine(
            recoveredAt,
            'simulator',
            'NEW PRIMARY',
            `${embedded.replica.id} accepts clients in ${embedded.replica.region}`,
          );
        }
        await clock.idle();
        const now = elapsed();
        if (recoveredAt !== undefined && now - recoveredAt >= 2 * MINUTE && now - lastPrinted >= MINUTE) break;
      }
    });
    // The invocations still under way end (their decisions are in the table and the timeline).
    await clock.settle();
    flushLines();

    const timeline = await runtime.orchestrator.store.timeline(pairName);
    const pair = world.pair(pairName);
    const { primary } = world.roles(pairName);
    const count = (action: string) => timeline.filter((d) => d.action === action && !d.dryRun).length;
    console.log('\nOutcome');
    console.log(`  final roles        primary ${world.roles(pairName).primary.id} (${world.roles(pairName).primary.region})`);
    console.log(
      `  promotions         switchovers started ${count('START_SWITCHOVER')}, escalations to failover ${count('ESCALATE_TO_FAILOVER')}, completed ${count('COMPLETE')}`,
    );
    console.log(`  refusals           ${count('REFUSE')} (dry-run decisions: ${timeline.filter((d) => d.dryRun).length})`);
    // One definition of recovery, the one the timeline records on COMPLETE (and the CLI and the report show): from
    // the first evidence and from the operation's start, to the new primary running. The drill also knows when the
    // outage began, which no orchestrator can: that figure is labelled as the drill's own.
    const secs = (ms: number) => `${Math.round(ms / 1000)} s`;
    const completed = timeline.find((d) => d.action === 'COMPLETE' && d.evidenceMs !== undefined);
    const redirected = timeline.find((d) => d.action === 'CLIENTS_REDIRECTED' && d.clientsMs !== undefined);
    const recovery =
      completed?.evidenceMs === undefined || completed.recoveryMs === undefined
        ? undefined
        : `${secs(completed.evidenceMs)} from the first evidence, ${secs(completed.recoveryMs)} from the operation's start`;
    console.log(`  time to recovery   ${recovery ?? 'not recovered: the replica was not promoted'}`);
    // The same operation step by step, from its record (what mqdr status prints).
    const op = (await runtime.orchestrator.store.load(pairName)).state.operation;
    const steps = op ? milestonesText(milestonesOf(op)) : undefined;
    if (steps) console.log(`  recovery steps     ${steps}`);
    if (redirected?.clientsMs !== undefined)
      console.log(`  clients redirected ${secs(redirected.clientsMs)} from the first evidence`);
    if (incidentClock !== undefined && recoveredAt !== undefined) {
      const evidence = completed ? completed.at - (completed.evidenceMs ?? 0) : undefined;
      console.log(
        `  from the outage    ${secs(recoveredAt - (incidentClock - START))} to a primary taking clients (the drill's own figure; the first evidence came ${evidence === undefined ? '?' : secs(evidence - incidentClock)} after the outage began)`,
      );
    }
    const timeouts = timeline.filter((d) => /timed out|budget/.test(d.reason)).length;
    // What the orchestrator estimated when it decided to fail over, against what the simulator left behind.
    const estimated = timeline.find((d) => d.rpo && d.rpo.events !== 0)?.rpo;
    console.log(
      `  invocations        ${invocations} run, ${failedInvocations} failed, longest ${Math.round(longestMs)} ms of its ${runtime.config.budgetMs} ms budget; ${timeouts} decisions cite a timeout`,
    );
    console.log(
      `  unreplicated       ${pair.unreplicatedOnOldPrimary} events left on the old primary (its QueueSize when the failover completed)${estimated ? `; the orchestrator's ${describeRpo(estimated)}` : ''}`,
    );
    console.log(
      `  audit timeline     ${timeline.length} decisions read back from DynamoDB (${seen.length} returned by the handlers)`,
    );
    if (timeline.length !== seen.length) throw new Error('the audit timeline does not match the decisions the handlers returned');
    const redirect = runtime.config.redirect;
    if (redirect) {
      const names = (url: string | undefined) =>
        url === undefined ? 'unset' : world.endpoints(primary).some((e) => url.includes(e)) ? `${url} (the primary)` : url;
      const where = redirect.regions.map((r) => `${r} ${names(world.parameters.get(r)?.get(redirect.parameterName)?.value)}`);
      console.log(`  clients            SSM ${redirect.parameterName}: ${where.join('; ')}`);
    }
    console.log(`  elapsed            ${Math.round(elapsed() / 1000)} s simulated`);
    const notifications = world.published.length;
    console.log(`  notifications      ${notifications} published to SNS (${runtime.config.topicArn})`);

    // The report charts what CloudWatch stored: nothing while the primary's Region is down.
    const summary: Array<[string, string]> = [
      ['scenario', `${name}: ${scenario.description}`],
      ['final primary', `${world.roles(pairName).primary.id} (${world.roles(pairName).primary.region})`],
      ['time to recovery', recovery ?? 'not recovered'],
      ...(steps ? [['recovery steps', steps] as [string, string]] : []),
      ['unreplicated', `${pair.unreplicatedOnOldPrimary} events left on the old primary`],
      ['decisions', `${timeline.length}; notifications ${notifications}`],
    ];
    const html = renderReport({
      title: `Disaster drill "${name}"`,
      pairId: pairName,
      generatedAt: clock.now(),
      // One series per broker, as CloudWatch stores them (each in its Region, under its active instance).
      series: [embedded.primary, embedded.replica].map((b) => ({
        name: `${b.name} (${b.region})`,
        points: world.series(b),
      })),
      clients: clientSpans(world.clientLog.get(pairName) ?? [], clock.now(), (id) =>
        [embedded.primary, embedded.replica].find((b) => b.id === id),
      ),
      markers: [...incidents, ...markersOf(timeline, runtime.config.deadlineMs)].sort((a, b) => a.at - b.at),
      timeline,
      summary,
    });
    const file = resolve(reportPath.replace('{scenario}', name));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, html);
    console.log(`  report             ${file}`);
  } finally {
    flushLines();
    await embedded.close();
  }
}

const { values } = commandLine(
  'drill',
  `usage: npm start -- [--scenario NAME | --all | --list] [--report PATH]

A disaster drill on the embedded default (Amazon MQ simulator + in-process DynamoDB), on a compressed clock.
  --scenario NAME   one of: ${Object.keys(scenarios).join(', ')} (default failover);
                    with both Regions' orchestrators: ${Object.keys(pairScenarios).join(', ')};
                    readiness: each readiness check's fault, one at a time, on fresh pairs
  --all             every scenario, one after the other
  --list            the scenarios and what each plays
  --report PATH     where the HTML report goes ({scenario} is replaced; default reports/drill-{scenario}.html)
  --version, --help`,
  {
    scenario: { type: 'string', default: 'failover' },
    all: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    report: { type: 'string', default: 'reports/drill-{scenario}.html' },
  },
  { versionOf: import.meta.url },
);
const READINESS = {
  description:
    'would a failover work now: a healthy pair passes every readiness check; then each fault, one at a time on a fresh pair, fails its own check (mqdr doctor exits 1)',
};
const every = [...Object.keys(scenarios), ...Object.keys(pairScenarios), 'readiness'];
if (values.list) {
  for (const [name, s] of [...Object.entries(scenarios), ...Object.entries(pairScenarios), ['readiness', READINESS] as const]) {
    console.log(`${name.padEnd(20)} ${s.description}`);
  }
  process.exit(0);
}
const names = values.all ? every : [values.scenario];
for (const name of names) {
  const scenario = scenarios[name];
  const pairScenario = pairScenarios[name];
  if (scenario) await run(name, scenario, values.report);
  else if (pairScenario) await runPairDrill(name, pairScenario, values.report);
  else if (name === 'readiness') {
    if (!(await runReadinessDrill())) process.exitCode = 1;
  } else {
    console.error(`unknown scenario ${name}; choose one of: ${every.join(', ')} (or --all)`);
    process.exit(2);
  }
}
// Invocations still asleep on the drill's manual clock at its end (a probe loop between two probes) keep their
// middy timeout timers (the Lambda timeout, 90 s) alive: the drill is over, so it ends now.
process.exit(process.exitCode ?? 0);
