/**
 * Readiness (`GET /pairs/{pairId}/readiness`, `mqdr doctor`) on both Regions as deployed: a healthy pair has no
 * FAIL, and each fault it is built to find, broken one at a time, fails its own check and only that one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '#cli/client.ts';
import { main } from '#cli/mqdr.ts';
import { VIEW_LATENCY_REGIONS } from '#lib/mq-facts.ts';
import type { Readiness } from '#lib/readiness.ts';
import { LOCAL_CREDENTIALS, ManualClock, PRIMARY_REGION, REPLICA_REGION } from '#simulator/embedded.ts';
import { PairDriver, type PairRegion, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';
import { operatorIo, playReadinessCase, READINESS_CASES } from '../../scripts/readiness-drill.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
let pair: TwoRegions | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** Both Regions for 3 minutes (probes, sweeps, the view's heartbeats, metrics), `before` done first. */
async function deployed(env: Record<string, string> = {}, before: (p: TwoRegions) => void = () => undefined) {
  const clock = new ManualClock(T0);
  pair = await startTwoRegions({ clock, env });
  const p = pair;
  before(p);
  await new PairDriver(p, clock).play(3 * MIN);
  const api = (region: PairRegion) =>
    new ApiClient({ endpoint: p.stacks[region].apiEndpoint, region, credentials: LOCAL_CREDENTIALS, attempts: 1 });
  return { p, clock, api, doctor: (region: PairRegion = REPLICA_REGION) => api(region).readiness(p.pairName) };
}

const statuses = (r: Readiness) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const failed = (r: Readiness) => r.checks.filter((c) => c.status === 'FAIL').map((c) => c.id);

describe('readiness: would a failover work now', () => {
  it('a healthy pair: ready, every check PASS but what the embedded default does not configure (WARN, with the fix)', async () => {
    const { doctor } = await deployed();
    const west = await doctor();
    expect(west.ready).toBe(true);
    expect(statuses(west)).toEqual({
      'local-broker': 'PASS',
      primary: 'PASS',
      metrics: 'PASS',
      'peer-stack': 'PASS',
      'view-replication': 'PASS',
      'probe-endpoints': 'PASS',
      // Written at the first promotion; none yet.
      redirect: 'WARN',
      // The embedded default's own scheduler, which fires its deadlines.
      'deadline-schedule': 'PASS',
      'api-budget': 'PASS',
    });
    const detail = (id: string) => west.checks.find((c) => c.id === id)?.detail;
    expect(detail('view-replication')).toMatch(
      /both ways: us-west-2 → us-east-1 at most \d+\.\d s, us-east-1 → us-west-2 at most/,
    );
    expect(detail('api-budget')).toMatch(
      /^this pair makes 12.6 DescribeBroker calls a minute at rest, both Regions \(1.4 % of the account's 15\/s\): 23 such pairs fill a third of it; none throttled now$/,
    );
    for (const c of west.checks.filter((c) => c.status !== 'PASS')) expect(c.fix).toBeTruthy();
    // From the primary's Region: its broker is the primary, its probes judge nothing.
    const east = await doctor(PRIMARY_REGION);
    expect(east.ready).toBe(true);
    expect(east.checks.find((c) => c.id === 'local-broker')?.detail).toMatch(/is the PRIMARY.*run doctor there/);
  });

  it.each(VIEW_LATENCY_REGIONS)(
    'the pair view replicates one way only (ReplicationLatency in the %s Region’s CloudWatch): view-replication fails, alone, naming the direction',
    async (viewLatencyIn) => {
      const { p, clock, doctor } = await deployed({}, (p) => {
        p.world.viewLatencyIn = viewLatencyIn;
      });
      const healthy = await doctor();
      expect(statuses(healthy)['view-replication']).toBe('PASS');
      // This Region's writes stop reaching the other's table: from here the other stack still looks alive.
      p.replication.blockedTo.add(PRIMARY_REGION);
      await new PairDriver(p, clock, T0).play(14 * MIN);
      const west = await doctor();
      expect(failed(west)).toEqual(['view-replication']);
      expect(west.checks.find((c) => c.id === 'view-replication')?.detail).toMatch(
        /^no write of the pair view replicated us-west-2 → us-east-1 in 10 minutes/,
      );
    },
  );

  it('Amazon MQ throttling the account now: api-budget fails, with the checks whose DescribeBroker it refused (metrics names the brokers by it)', async () => {
    const { p, doctor } = await deployed();
    p.world.mqBudgetSpent = true;
    const west = await doctor();
    expect(failed(west).sort()).toEqual(['api-budget', 'local-broker', 'metrics', 'primary']);
    expect(west.checks.find((c) => c.id === 'api-budget')?.fix).toMatch(/PROBE_INTERVAL_SECONDS/);
    // Once the budget refills, the next evaluation passes again.
    p.world.mqBudgetSpent = false;
    expect((await doctor()).ready).toBe(true);
  });

  it('the deployment names the wrong remote broker: local-broker fails, naming both', async () => {
    const { doctor } = await deployed({ REMOTE_BROKER_ID: 'b-00000000-0000-0000-0000-000000000000' });
    const west = await doctor();
    expect(failed(west)).toContain('local-broker');
    expect(west.checks.find((c) => c.id === 'local-broker')?.fix).toMatch(/REMOTE_BROKER_ID/);
  });

  it('the other Region’s stack silently dead (its Region up, its Lambdas not running for 5 minutes): peer-stack fails, alone', async () => {
    const { p, clock, doctor } = await deployed();
    clock.advance(5 * MIN);
    await p.world.syncListeners();
    const west = await doctor();
    expect(failed(west)).toEqual(['peer-stack']);
    expect(west.ready).toBe(false);
  });

  it('a private primary the probe has no route to: probe-endpoints fails, alone', async () => {
    const { doctor } = await deployed({}, (p) => p.world.endpointsPrivate.add(p.world.roles(p.pairName).primary.id));
    const west = await doctor();
    expect(failed(west)).toEqual(['probe-endpoints']);
    expect(west.checks.find((c) => c.id === 'probe-endpoints')?.fix).toMatch(/VPC|PROBE_ENDPOINTS=off/);
  });

  it('the redirect parameter in one Region only: redirect fails, naming the other', async () => {
    const { p, doctor } = await deployed();
    const name = `/mq-crdr/${p.pairName}/broker-url`;
    p.world.putParameter(PRIMARY_REGION, { name, value: 'failover:(ssl://b-1:61617)', type: 'String' });
    const west = await doctor();
    expect(failed(west)).toEqual(['redirect']);
    expect(west.checks.find((c) => c.id === 'redirect')?.detail).toContain(`${REPLICA_REGION} (not found)`);
  });

  it('the primary’s Region down: primary, metrics, peer-stack, view-replication and redirect (its SSM) fail; mqdr doctor prints the table and exits 1', async () => {
    const { p, clock, doctor } = await deployed();
    p.world.setRegionUp(PRIMARY_REGION, false);
    clock.advance(4 * MIN);
    const west = await doctor();
    expect(failed(west).sort()).toEqual(['metrics', 'peer-stack', 'primary', 'redirect', 'view-replication']);
    const { io, out } = operatorIo(p, clock);
    expect(await main(['doctor', p.pairName], io)).toBe(1);
    expect(out[0]).toBe(`${p.pairName} from ${REPLICA_REGION}: NOT READY`);
    expect(out[1]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    expect(out.some((l) => /^primary\s+FAIL\s+.*fix: /.test(l))).toBe(true);
    expect(out.at(-1)).toBe('mqdr: not ready for a failover: primary, metrics, peer-stack, view-replication, redirect failed');
    out.length = 0;
    expect(await main(['doctor', p.pairName, '--json'], io)).toBe(1);
    expect(JSON.parse(out.slice(0, -1).join('\n'))).toMatchObject({ ready: false });
  });

  it('the scheduled evaluation: a change in which checks fail is recorded and notified once, with the fix; every run publishes the count', async () => {
    const { p, api } = await deployed();
    const name = `/mq-crdr/${p.pairName}/broker-url`;
    const west = p.stacks[REPLICA_REGION];
    const run = async () => {
      const result = await west.invoke.readiness();
      return { changes: result.decisions.filter((d) => d.action === 'READINESS_CHANGED'), gauges: result.gauges };
    };
    // Healthy (WARNs only): nothing recorded, 0 published.
    expect(await run()).toEqual({ changes: [], gauges: [{ name: 'ReadinessChecksFailing', value: 0 }] });
    p.world.putParameter(PRIMARY_REGION, { name, value: 'failover:(ssl://b-1:61617)', type: 'String' });
    const broken = await run();
    expect(broken.gauges).toEqual([{ name: 'ReadinessChecksFailing', value: 1 }]);
    expect(broken.changes).toHaveLength(1);
    expect(broken.changes[0]?.reason).toMatch(/^redirect fails: .*\(fix: deploy the stack's parameter/);
    // The same fault at the next run: counted again, recorded no more.
    expect(await run()).toEqual({ changes: [], gauges: [{ name: 'ReadinessChecksFailing', value: 1 }] });
    p.world.putParameter(REPLICA_REGION, { name, value: 'failover:(ssl://b-1:61617)', type: 'String' });
    const mended = await run();
    expect(mended.gauges).toEqual([{ name: 'ReadinessChecksFailing', value: 0 }]);
    expect(mended.changes[0]?.reason).toBe('redirect passes again; a failover would work now');
    // Both changes went to the pair's SNS topic, and are in its timeline, which mqdr timeline reads.
    const subjects = p.world.published.map((m) => m.subject ?? '');
    expect(subjects.filter((s) => /not ready for a failover|ready for a failover again/.test(s))).toEqual([
      `[${p.pairName}] not ready for a failover`,
      `[${p.pairName}] ready for a failover again`,
    ]);
    const timeline = [];
    for await (const page of api(REPLICA_REGION).timeline(p.pairName)) timeline.push(...page);
    expect(timeline.filter((d) => d.action === 'READINESS_CHANGED')).toHaveLength(2);
  });

  it('the readiness drill (npm start -- --scenario readiness): the healthy pair passes every check, each fault fails its own', async () => {
    const outcomes = [];
    for (const c of READINESS_CASES) outcomes.push(await playReadinessCase(c, () => undefined));
    expect(outcomes.map((o) => [o.case.check ?? 'healthy', o.caught, o.exitCode])).toEqual(
      READINESS_CASES.map((c) => [c.check ?? 'healthy', true, c.check ? 1 : 0]),
    );
    // Every check has its fault.
    expect(new Set(READINESS_CASES.map((c) => c.check))).toEqual(new Set([undefined, ...(outcomes[0]?.checks ?? [])]));
  }, 120_000);
});
