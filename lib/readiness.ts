/**
 * Readiness: would a failover work now? Each check looks at one thing a failover needs, from this Region, and
 * answers PASS, WARN or FAIL with the fix, so that what would break during an incident is found before it (ARC
 * Region switch evaluates its plans' readiness the same way). `mqdr doctor` prints it; the API serves it at
 * GET /pairs/{pairId}/readiness. Every check runs, whatever the others found; a check that throws is a FAIL.
 */

import { THROTTLING_ERRORS } from './adapters/mq.ts';
import { Role } from './core/model.ts';
import { MAX_DATAPOINT_AGE_MS, MQ_API_BUDGET } from './mq-facts.ts';
import { lagBrokersOf } from './operator.ts';
import { describeCallsAtRest, errorMessage, VIEW_HEARTBEAT_MS } from './orchestrator.ts';
import type { Runtime } from './runtime.ts';

export const CheckStatus = { PASS: 'PASS', WARN: 'WARN', FAIL: 'FAIL' } as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

export interface ReadinessCheck {
  /**
   * Stable, for scripts and alarms: `local-broker`, `primary`, `metrics`, `peer-stack`, `view-replication`,
   * `probe-endpoints`, `redirect`, `deadline-schedule`, `api-budget`.
   */
  id: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a WARN or a FAIL. */
  fix?: string;
}

export interface Readiness {
  pairId: string;
  region: string;
  at: number;
  /** No check failed. */
  ready: boolean;
  checks: ReadinessCheck[];
}

/** The other Region's stack writes to the pair view at every sweep (a minute) and at least every heartbeat. */
export const PEER_SILENT_AFTER_MS = 3 * VIEW_HEARTBEAT_MS;
/**
 * The pair view's replication is judged over this window: each Region writes its item every minute, so each
 * direction has a ReplicationLatency datapoint a minute while it replicates.
 */
export const VIEW_REPLICATION_WINDOW_MS = 10 * 60_000;
/**
 * Slower than this, the view's answers (arming, cooldown, newer choices) lag the other Region's decisions by
 * half a sweep or more: a WARN. Global tables usually replicate within a second or two.
 */
export const VIEW_SLOW_MS = 30_000;
/** How many pairs at rest an account should hold in a third of its Amazon MQ API budget (the design's target). */
export const BUDGET_PAIRS = 20;
/** An observation failed on Amazon MQ's throttling: the adapter puts the error's name in its message. */
const throttled = (error: string | undefined): boolean => THROTTLING_ERRORS.some((name) => error?.includes(name));

const pass = (id: string, detail: string): ReadinessCheck => ({ id, status: CheckStatus.PASS, detail });
const warn = (id: string, detail: string, fix: string): ReadinessCheck => ({ id, status: CheckStatus.WARN, detail, fix });
const fail = (id: string, detail: string, fix: string): ReadinessCheck => ({ id, status: CheckStatus.FAIL, detail, fix });
// Never negative: a datapoint read a moment after `now` was taken (or stamped by a clock a little ahead) is "0 s ago".
const secondsAgo = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))} s ago`;

export async function evaluateReadiness(rt: Runtime): Promise<Readiness> {
  const { config, orchestrator } = rt;
  const now = orchestrator.clock.now();
  const [local, remote, stored] = await Promise.all([
    orchestrator.broker.observe(config.localBrokerId),
    rt.remoteBroker.observe(config.remoteBrokerId),
    orchestrator.store.load(config.pairId).then(
      (s) => s.state,
      (error: unknown) => new Error(errorMessage(error)),
    ),
  ]);
  const replicaHere = local.role === Role.REPLICA;
  const want = { brokerId: config.remoteBrokerId, region: config.remoteRegion };
  const guarded = async (id: string, check: () => Promise<ReadinessCheck>): Promise<ReadinessCheck> => {
    try {
      return await check();
    } catch (error) {
      return fail(
        id,
        `the check could not run: ${errorMessage(error)}`,
        "check this function's permissions and the service's health",
      );
    }
  };

  const checks = await Promise.all([
    guarded('local-broker', async () => {
      if (local.role === Role.UNKNOWN)
        return fail(
          'local-broker',
          `this Region's broker cannot be observed: ${local.error ?? 'no detail'}`,
          "check this Region's Amazon MQ API and LOCAL_BROKER_ID",
        );
      const seen = local.counterpart;
      if (seen && (seen.brokerId !== want.brokerId || seen.region !== want.region))
        return fail(
          'local-broker',
          `this Region's broker replicates with ${seen.brokerId} in ${seen.region}, not the configured ${want.brokerId} in ${want.region}`,
          'set REMOTE_BROKER_ID and REMOTE_REGION (serverless params remoteBrokerId, remoteRegion) to the counterpart DescribeBroker names',
        );
      if (local.promotionPending)
        return warn('local-broker', 'a promotion is under way', 'wait for it to end, then run doctor again');
      if (!replicaHere)
        return pass(
          'local-broker',
          `this Region's broker is the ${local.role} (${local.brokerState}): a failover promotes the other Region's; run doctor there`,
        );
      return pass(
        'local-broker',
        `this Region's broker is the replica (${local.brokerState}) of ${want.brokerId} in ${want.region}`,
      );
    }),
    guarded('primary', async () => {
      if (remote.role === Role.UNKNOWN)
        return fail(
          'primary',
          `the other Region's broker cannot be observed: ${remote.error ?? 'no detail'}`,
          "check the other Region's Amazon MQ API and this function's mq:DescribeBroker permission there",
        );
      return pass('primary', `the other Region's broker is the ${remote.role} (${remote.brokerState})`);
    }),
    guarded('metrics', async () => {
      const brokers = lagBrokersOf(config, local, remote);
      // The primary publishes QueueSize and TotalReplicationLag: its datapoints are what the RPO and prediction read.
      const primaryIsLocal = local.role === Role.PRIMARY;
      const series = await rt.lagMetrics.series(brokers, now - 5 * 60_000, now + 1_000, 60);
      const newest = Math.max(
        ...series.points.filter((p) => p.local === primaryIsLocal).map((p) => p.at),
        Number.NEGATIVE_INFINITY,
      );
      if (newest >= now - MAX_DATAPOINT_AGE_MS)
        return pass('metrics', `the primary's CRDR metrics are fresh: newest datapoint ${secondsAgo(now - newest)}`);
      const why = series.errors.length > 0 ? `: ${series.errors.join('; ')}` : '';
      return fail(
        'metrics',
        `no datapoint of the primary's CRDR metrics within ${MAX_DATAPOINT_AGE_MS / 1000} s${why}: the RPO would be unknown and the switchover unpredicted`,
        "check LOCAL_BROKER_NAME/REMOTE_BROKER_NAME and this function's cloudwatch:GetMetricData permission in both Regions",
      );
    }),
    guarded('peer-stack', async () => {
      if (!orchestrator.view)
        return warn(
          'peer-stack',
          'no pair view: this stack decides alone, blind to the other Region',
          'deploy both Regions with the pair view (PAIR_VIEW_TABLE)',
        );
      const { peer } = await orchestrator.view.read(config.pairId);
      if (!peer)
        return fail(
          'peer-stack',
          'the other Region has never written to the pair view',
          "deploy the other Region's stack, or check the global table's replica there",
        );
      const age = now - peer.publishedAt;
      if (age > PEER_SILENT_AFTER_MS)
        return fail(
          'peer-stack',
          `the other Region's stack last wrote to the pair view ${secondsAgo(age)} (it writes every minute): its sweep is not running, its Region is down, or the global table does not replicate`,
          "check the other Region's escalate function (its schedule and errors) and the global table's replication",
        );
      return pass('peer-stack', `the other Region's stack wrote to the pair view ${secondsAgo(age)}, seen here`);
    }),
    guarded('view-replication', async () => {
      if (!orchestrator.view || !config.pairViewTable)
        return warn(
          'view-replication',
          'no pair view: the Regions do not share their decisions',
          'deploy both Regions with the pair view (PAIR_VIEW_TABLE)',
        );
      const regions: [string, string] = [config.region, config.remoteRegion];
      const { directions, errors } = await rt.viewReplication.latency(
        config.pairViewTable,
        regions,
        now - VIEW_REPLICATION_WINDOW_MS,
        now + 1_000,
      );
      const name = (d: { from: string; to: string }) => `${d.from} → ${d.to}`;
      const silent = directions.filter((d) => d.points.length === 0);
      const window = `${VIEW_REPLICATION_WINDOW_MS / 60_000} minutes`;
      if (silent.length > 0 && errors.length > 0)
        return fail(
          'view-replication',
          `the pair view's replication ${silent.map(name).join(' and ')} cannot be confirmed: no ReplicationLatency datapoint within ${window} could be read (${errors.join('; ')})`,
          "check CloudWatch in both Regions and this function's cloudwatch:GetMetricData permission",
        );
      if (silent.length > 0)
        return fail(
          'view-replication',
          `no write of the pair view replicated ${silent.map(name).join(' nor ')} in ${window} (no ReplicationLatency datapoint): the Region receiving nothing decides blind to the other's operations`,
          "check the global table's replicas (DescribeTable: each replica ACTIVE) and that both Regions' escalate functions run",
        );
      const worst = directions.map((d) => ({ d, ms: Math.max(...d.points.map((p) => p.ms)) }));
      const figures = worst.map((w) => `${name(w.d)} at most ${(w.ms / 1000).toFixed(1)} s`).join(', ');
      if (worst.some((w) => w.ms > VIEW_SLOW_MS))
        return warn(
          'view-replication',
          `the pair view replicates slowly: ${figures} over ${window}`,
          "check the global table's write throttling and the Regions' health (AWS Health Dashboard)",
        );
      return pass('view-replication', `the pair view replicates both ways: ${figures} over ${window}`);
    }),
    guarded('probe-endpoints', async () => {
      if (stored instanceof Error) throw stored;
      if (!replicaHere) return pass('probe-endpoints', "this Region's broker is the primary: its probes judge nothing");
      const mode = config.probeEndpoints ?? 'on';
      if (mode === 'off')
        return warn(
          'probe-endpoints',
          "PROBE_ENDPOINTS=off: an outage is judged by the primary's API alone",
          'attach the health check to a VPC with a route to the brokers and set PROBE_ENDPOINTS=auto',
        );
      if (stored.endpointsReachedAt === undefined)
        return fail(
          'probe-endpoints',
          "the primary's endpoints have never answered a handshake from this Region: an outage could only be confirmed by the API, and a switchover would wait for its deadline",
          "attach the health check to a VPC with a route to the brokers (the pair file's brokers[].vpc), or set PROBE_ENDPOINTS=off",
        );
      return pass(
        'probe-endpoints',
        `the primary's endpoints answered a handshake from this Region (since ${new Date(stored.endpointsReachedAt).toISOString()})`,
      );
    }),
    guarded('redirect', async () => {
      const redirector = orchestrator.redirector;
      if (!config.redirect || !redirector?.current)
        return warn(
          'redirect',
          'no client redirection: clients find the new primary by their own failover URL',
          'set REDIRECT_SSM_PARAMETER to point clients at the primary',
        );
      const values = await redirector.current();
      const missing = values.filter((v) => v.value === undefined);
      // The orchestrator writes it at each promotion (a template would reset it at every stack update).
      if (missing.length === values.length && missing.every((m) => m.error === 'not found'))
        return warn(
          'redirect',
          `${config.redirect.parameterName} is not written yet (the orchestrator writes it at the first promotion): clients that read it find no broker URL until then`,
          "write the primary's failover URL there once, as clients expect it",
        );
      if (missing.length > 0)
        return fail(
          'redirect',
          `the parameter ${config.redirect.parameterName} cannot be read in ${missing.map((m) => `${m.region} (${m.error ?? 'not found'})`).join(', ')}: clients there find no broker URL`,
          "deploy the stack's parameter in every Region of REDIRECT_SSM_REGIONS, and check ssm:GetParameter",
        );
      return pass('redirect', `${config.redirect.parameterName} is set in ${values.map((v) => v.region).join(', ')}`);
    }),
    guarded('deadline-schedule', async () => {
      if (orchestrator.scheduler.sweepOnly)
        return warn(
          'deadline-schedule',
          'no deadline schedule target: deadlines escalate at the next sweep (a minute late)',
          'set ESCALATE_FUNCTION_ARN and SCHEDULER_ROLE_ARN',
        );
      const probeId = `readiness-${now}`;
      await orchestrator.scheduler.schedule(config.pairId, probeId, now + 3_600_000);
      await orchestrator.scheduler.cancel(config.pairId, probeId);
      return pass('deadline-schedule', 'a deadline schedule was created and deleted');
    }),
    guarded('api-budget', async () => {
      const perMinute = describeCallsAtRest(config.probeIntervalMs);
      const { requestsPerSecond } = MQ_API_BUDGET;
      // A third of the account's budget for pairs at rest, two thirds for operations and operators.
      const pairsInAThird = Math.floor((requestsPerSecond * 60) / 3 / perMinute);
      const share = `this pair makes ${perMinute} DescribeBroker calls a minute at rest, both Regions (${((100 * perMinute) / (requestsPerSecond * 60)).toFixed(1)} % of the account's ${requestsPerSecond}/s): ${pairsInAThird} such pairs fill a third of it`;
      const refused = [local, remote].filter((o) => throttled(o.error));
      if (refused.length > 0)
        return fail(
          'api-budget',
          `Amazon MQ throttles this account's API calls now (${refused.map((o) => o.error).join('; ')}): a throttled probe is no verdict and a Promote may be refused; ${share}`,
          'find the other callers of the Amazon MQ API in this account and Region (CloudTrail), raise PROBE_INTERVAL_SECONDS, or spread pairs over accounts',
        );
      if (pairsInAThird < BUDGET_PAIRS)
        return warn(
          'api-budget',
          `${share}, fewer than ${BUDGET_PAIRS}`,
          `raise PROBE_INTERVAL_SECONDS (15 s: ${describeCallsAtRest(15_000)} calls a minute)`,
        );
      return pass('api-budget', `${share}; none throttled now`);
    }),
  ]);
  return {
    pairId: config.pairId,
    region: config.region,
    at: now,
    ready: checks.every((c) => c.status !== CheckStatus.FAIL),
    checks,
  };
}
