/**
 * The drills of the pair as deployed: both Regions' orchestrators (simulator/two-regions.ts), each with its
 * own table, alarm, probes, sweep and operator API, and the pair view replicated between the Regions. What an
 * operator does is done through a Region's API, as `mqdr` does it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ApiClient } from '#cli/client.ts';
import { milestonesText } from '#cli/mqdr.ts';
import { markersOf, renderReport } from '#cli/report.ts';
import { milestonesOf } from '#lib/core/decide.ts';
import type { RequestKind } from '#lib/core/model.ts';
import { alarmStateChangeEvent, LOCAL_CREDENTIALS, ManualClock, PRIMARY_REGION, REPLICA_REGION } from '#simulator/embedded.ts';
import { PairDriver, type PairRegion, REGIONS, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';

const START = Date.parse('2026-11-23T09:00:00Z');
const MINUTE = 60_000;

export interface PairScenario {
  description: string;
  pair?: { produceRate?: number; drainRate?: number; backlog?: number };
  /** Plays the incident; `say` prints a line of the drill's own. */
  play(d: PairDrill): Promise<void>;
}

const clockText = (t: number): string => {
  const s = Math.round(t / 1000);
  return `T+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/** What a scenario drives: the pair, its driver, the operator's API in each Region, and the printing. */
export class PairDrill {
  private printed = 0;

  constructor(
    readonly p: TwoRegions,
    readonly driver: PairDriver,
  ) {}

  say(what: string, action: string, text: string): void {
    this.flush();
    console.log(`${clockText(this.driver.t)}  ${what.padEnd(30).slice(0, 30)}  ${action.padEnd(18)}  ${text}`);
  }

  /** Plays until `untilMs`, printing each Region's decisions as they are made. */
  async play(untilMs: number, at: (t: number) => void | Promise<void> = () => undefined): Promise<void> {
    await this.driver.play(untilMs, async (t) => {
      this.flush();
      await at(t);
    });
    this.flush();
  }

  /** An operator's request through `region`'s API, as `mqdr <kind> orders -r <reason>` sends it. */
  async operator(region: PairRegion, kind: RequestKind, body: Record<string, unknown>): Promise<void> {
    const api = new ApiClient({ endpoint: this.p.stacks[region].apiEndpoint, region, credentials: LOCAL_CREDENTIALS });
    this.say(`operator → ${region} API`, 'REQUEST', `mqdr ${kind.toLowerCase()} ${this.p.pairName} -r "${String(body.reason)}"`);
    const result = await api.request(kind, this.p.pairName, body);
    for (const d of result.decisions) this.say(`${region} api`, d.action, d.reason);
  }

  private flush(): void {
    const fresh = this.driver.log.slice(this.printed).sort((a, b) => a.decision.at - b.decision.at);
    for (const e of fresh) {
      console.log(
        `${clockText(e.t)}  ${`${e.region} ${e.via}`.padEnd(30).slice(0, 30)}  ${e.decision.action.padEnd(18)}  ${e.decision.reason}`,
      );
    }
    this.printed = this.driver.log.length;
    for (const f of this.driver.failures.splice(0)) {
      console.log(`${clockText(f.t)}  ${`${f.region} ${f.via}`.padEnd(30)}  ${'INVOCATION FAILED'.padEnd(18)}  ${f.error}`);
    }
  }
}

/** The reconcile command the failback drill tells the operator to run, with the bin's real flags. */
export const reconcileCommand = (from: string, to: string): string =>
  `mq-crdr-reconcile --from ${from} --to ${to} --queue orders=fulfilment --table mq-crdr-orders-dedup`;

export const pairScenarios: Record<string, PairScenario> = {
  failback: {
    description:
      'the link, then us-east-1 fail; us-west-2 fails over; us-east-1 comes back with a stale alarm and failing probes: no automatic promotion back; an operator fails back, then reconciles',
    async play(d) {
      const { p } = d;
      const west = p.stacks[REPLICA_REGION].local;
      await d.play(20 * MINUTE, (t) => {
        if (t === MINUTE + 5_000) {
          p.world.setPartitioned(true);
          d.say('drill', 'INJECT', `the inter-Region link fails: ${PRIMARY_REGION} still takes writes, which stop replicating`);
        }
        if (t === 3 * MINUTE) {
          p.world.setRegionUp(PRIMARY_REGION, false);
          d.say('drill', 'INJECT', `${PRIMARY_REGION} goes down`);
          const sentAt = p.world.clock.now() - 10_000;
          d.driver.queueAlarm(PRIMARY_REGION, alarmStateChangeEvent(p.alarmName, 'ALARM', 'OK', sentAt, 'lag', REPLICA_REGION));
          d.say(
            'drill',
            'INJECT',
            `a lag alarm state change for ${PRIMARY_REGION}, which EventBridge keeps retrying while it is down`,
          );
        }

        if (t === 8 * MINUTE) {
          p.world.setPartitioned(false);
          p.world.setRegionUp(PRIMARY_REGION, true);
          p.world.setEndpointsUp(west.id, false);
          d.say(
            'drill',
            'INJECT',
            `${PRIMARY_REGION} is back as the replica; it cannot reach ${REPLICA_REGION}'s endpoints (probes fail)`,
          );
        }
        if (t === 16 * MINUTE) {
          p.world.setEndpointsUp(west.id, true);
          d.say('drill', 'INJECT', `the network path from ${PRIMARY_REGION} is fixed`);
        }
      });
      const left = p.world.pair(p.pairName).unreplicatedOnOldPrimary;
      await d.operator(PRIMARY_REGION, 'SWITCHOVER', { reason: 'fail back to us-east-1 after the outage' });
      await d.play(30 * MINUTE);
      d.say(
        'operator',
        'RECONCILE',
        `${left} events the failover left on ${PRIMARY_REGION}: ${reconcileCommand(`<${PRIMARY_REGION} broker's STOMP URL>`, "<the current primary's STOMP URL>")} drops what consumers processed (their dedup records in the global table) and delivers the rest once (docs/dedup.md "Reconcile after a failover"; run against real ActiveMQ by test/integration/activemq-e2e.test.ts)`,
      );
    },
  },
  flapping: {
    description:
      'the lag alarm flaps ALARM/OK every minute, before and after an operator fails back by hand in the console (not through the orchestrator): one switchover, and clients follow both promotions',
    pair: { produceRate: 300, drainRate: 200 },
    async play(d) {
      const { p } = d;
      await d.play(9 * MINUTE, (t) => {
        if (t === 4 * MINUTE) {
          const { replica } = p.world.roles(p.pairName);
          p.world.promote(replica.region, replica.id, 'SWITCHOVER');
          d.say(
            'operator',
            'CONSOLE',
            `Promote SWITCHOVER of ${replica.region}'s broker by hand: the orchestrator did not send it`,
          );
        }
        if (t >= MINUTE && t <= 7 * MINUTE && t % MINUTE === 0) {
          const into = (t / MINUTE) % 2 === 1 ? 'ALARM' : 'OK';
          const event = alarmStateChangeEvent(p.alarmName, into, into === 'ALARM' ? 'OK' : 'ALARM', p.world.clock.now());
          d.driver.queueAlarm(REPLICA_REGION, event);
          d.say('drill', 'INJECT', `CloudWatch: ${p.alarmName} flaps into ${into}`);
        }
      });
      const { primary } = p.world.roles(p.pairName);
      for (const region of REGIONS) {
        const value = p.world.getParameter(region, `/mq-crdr/${p.pairName}/broker-url`)?.value ?? 'unset';
        d.say(
          'clients',
          'PARAMETER',
          `${region}: ${value}${value.includes(`:${primary.port})`) || value.includes(`:${primary.port},`) ? ` (the primary, ${primary.region}, first)` : ''}`,
        );
      }
    },
  },
  'ping-pong': {
    description: 'a replication link slower than the producers, with both Regions automated: exactly one promotion',
    pair: { produceRate: 200, drainRate: 150 },
    async play(d) {
      await d.play(40 * MINUTE);
    },
  },
};

export async function runPairDrill(name: string, scenario: PairScenario, reportPath: string): Promise<void> {
  const clock = new ManualClock(START);
  const p = await startTwoRegions({ clock, ...(scenario.pair ? { pair: scenario.pair } : {}) });
  try {
    const driver = new PairDriver(p, clock);
    const drill = new PairDrill(p, driver);
    const config = p.stacks[REPLICA_REGION].runtime.config;
    console.log(`\nDrill "${name}" (both Regions' orchestrators): ${scenario.description}`);
    console.log(
      `pair ${p.pairName}: ${REGIONS.map((r) => `${p.stacks[r].local.id} in ${r}`).join(', ')}; primary ${p.world.roles(p.pairName).primary.region}`,
    );
    console.log(
      `deadline ${config.deadlineMs / 1000} s, cooldown ${config.cooldownMs / 1000} s (pair-wide), fail-back policy ${config.failbackPolicy}, pair view replication ${p.replication.delayMs / 1000} s\n`,
    );
    await scenario.play(drill);

    const timelines = await Promise.all(
      REGIONS.map(async (r) =>
        (await p.stacks[r].runtime.orchestrator.store.timeline(p.pairName)).map((dec) => ({
          ...dec,
          event: `${r}: ${dec.event}`,
        })),
      ),
    );
    const timeline = timelines.flat().sort((a, b) => a.at - b.at);
    const promotions = p.world.promoteLog.map((x) => `${x.region} ${x.mode}`);
    const starts = timeline.filter((dec) => dec.action.startsWith('START_'));
    const refusals = timeline.filter((dec) => dec.action === 'REFUSE');
    const primary = p.world.roles(p.pairName).primary;
    console.log('\nOutcome');
    console.log(`  final primary      ${primary.id} (${primary.region})`);
    console.log(
      `  operations         ${starts.length} started: ${starts.map((s) => s.event.split(':')[0]).join(', ') || 'none'}`,
    );
    console.log(`  Promote calls      ${promotions.length}: ${promotions.join(', ') || 'none'}`);
    // The timeline's own recovery figures (the core's one definition), for each completed operation.
    for (const c of timeline.filter((dec) => dec.action === 'COMPLETE' && dec.evidenceMs !== undefined)) {
      console.log(
        `  time to recovery   ${c.event.split(':')[0]}: ${Math.round((c.evidenceMs ?? 0) / 1000)} s from the first evidence, ${Math.round((c.recoveryMs ?? 0) / 1000)} s from the operation's start`,
      );
    }
    for (const r of REGIONS) {
      const op = (await p.stacks[r].runtime.orchestrator.store.load(p.pairName)).state.operation;
      if (op) console.log(`  recovery steps     ${r} ${op.id} ${op.mode} ${op.status}: ${milestonesText(milestonesOf(op))}`);
    }
    console.log(
      `  refusals           ${refusals.length}${refusals[0] ? `; first: ${refusals[0].event}: ${refusals[0].reason.slice(0, 160)}…` : ''}`,
    );
    console.log(
      `  unreplicated       ${p.world.pair(p.pairName).unreplicatedOnOldPrimary} events left on an old primary (QueueSize)`,
    );
    console.log(`  audit timelines    ${REGIONS.map((r, i) => `${r} ${timelines[i]?.length ?? 0}`).join(', ')} decisions`);
    console.log(`  notifications      ${p.world.published.length} published to SNS (both Regions' topics)`);
    const html = renderReport({
      title: `Disaster drill "${name}" (both Regions)`,
      pairId: p.pairName,
      generatedAt: clock.now(),
      series: REGIONS.map((r) => {
        const b = p.stacks[r].local;
        return {
          name: `${b.name} (${b.region})`,
          points: p.world.series(b),
        };
      }),
      markers: markersOf(timeline, config.deadlineMs),
      timeline,
      summary: [
        ['scenario', `${name}: ${scenario.description}`],
        ['final primary', `${primary.id} (${primary.region})`],
        ['Promote calls', promotions.join(', ') || 'none'],
        ['refusals', String(refusals.length)],
      ],
    });
    const file = resolve(reportPath.replace('{scenario}', name));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, html);
    console.log(`  report             ${file}`);
  } finally {
    await p.close();
  }
}
