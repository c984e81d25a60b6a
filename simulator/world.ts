/**
 * The simulated world behind the Amazon MQ API: CRDR broker pairs spread over two Regions.
 *
 * Replication is modelled as the primary's replication queue (./replication.ts): events with their creation
 * times, not yet acknowledged by the replica. Producers add `produceRate` events/s while the primary accepts
 * clients; the inter-Region link acknowledges up to `drainRate` events/s while both Regions are up and not
 * partitioned, each no sooner than `linkLatencyMs` after it was created (the round trip). Conditions change
 * only through calls that first bring the model up to the clock (`sync`), so rates are constant between two
 * syncs; with no latency, completion times are exact, with latency they are found within 1 s steps.
 *
 * The primary and the replica publish the CRDR metrics AWS documents (lib/mq-facts.ts), derived from the
 * queue, each in its own Region and under its active instance's name (`<name>-1` or `<name>-2`: a broker's
 * standby can take over, `takeOver`). Where AWS publishes no behaviour (TotalReplicationLag during a stall),
 * the world is built with one of the plausible ones (`stallLag`) and the tests run under each.
 *
 *  - SWITCHOVER: the primary stops accepting clients, the queue drains; completes the moment it is empty
 *    (needs both Regions and the link). Until then neither broker accepts clients.
 *  - FAILOVER: completes `failoverMs` after the request whatever the other Region's state, may interrupt a
 *    switchover, leaves the queue's events on the old primary, unreplicated.
 *  - Promote on a primary, or a switchover during a failover: BadRequestException.
 *  - A Region that is down answers its API with InternalServerErrorException and closes its brokers' ports.
 *  - A Region that hangs accepts connections to its API and to its brokers' endpoints and never answers; the
 *    link and the producers stop as when it is down. An API can also hang or be slow on its own (`setApiFault`),
 *    and a broker's endpoints can hang while its Region's API answers (`setEndpointsHung`).
 *
 * The primary broker of a pair listens on a real loopback port (its "endpoint", TLS with the certificate in
 * ./tls) while it accepts clients, so that a health probe's handshake has something true to complete.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import {
  BROKER_INSTANCES,
  CRDR_METRIC,
  type CrdrMetricName,
  instanceDimension,
  REPLICA_ENDPOINTS_LISTED,
  REPLICATION_ROLE,
  STALL_LAG_BEHAVIOURS,
  type StallLagBehaviour,
  TIME_METRIC_MS_PER_UNIT,
  VIEW_LATENCY_REGIONS,
} from '#lib/mq-facts.ts';
import type { Clock } from '#lib/ports.ts';
import { FaultQueue } from './faults.ts';
import { ReplicationQueue } from './replication.ts';
import type { SimSchedule } from './scheduler.ts';

export type Role = (typeof REPLICATION_ROLE)[keyof typeof REPLICATION_ROLE];
export type PromoteMode = 'SWITCHOVER' | 'FAILOVER';

export class SimError extends Error {
  constructor(
    readonly type:
      | 'BadRequestException'
      | 'NotFoundException'
      | 'InternalServerErrorException'
      | 'ForbiddenException'
      | 'ConflictException'
      | 'TooManyRequestsException',
    readonly status: number,
    message: string,
    readonly errorAttribute?: string,
  ) {
    super(message);
  }
}

/** Operations of the API a fault can be injected into. */
export const FAULTABLE = ['DescribeBroker', 'Promote', 'PutParameter'] as const;
export type FaultableOperation = (typeof FAULTABLE)[number];

/**
 * What an injected fault does to one call: answer 429 or 500 or 400 without acting, or act and then answer
 * 500, as when the response is lost on its way back (the caller cannot tell it from a plain 500).
 */
export const API_FAULTS = ['throttle', 'server-error', 'bad-request', 'lost-response'] as const;
export type ApiFault = (typeof API_FAULTS)[number];

/** A Region's API (every service of it the simulator speaks): no answer at all, or an answer `ms` late. */
export type RegionApiFault = { kind: 'hang' } | { kind: 'slow'; ms: number };

const TLS = {
  key: readFileSync(new URL('./tls/key.pem', import.meta.url)),
  cert: readFileSync(new URL('./tls/cert.pem', import.meta.url)),
};

export interface SimBroker {
  id: string;
  name: string;
  arn: string;
  region: string;
  role: Role;
  created: Date;
  pairName: string;
  listener?: Server;
  /** Loopback port of the broker's endpoint; kept across restarts when possible. */
  port?: number;
  /** The instance of the active/standby pair that is active: its metrics are published as `<name>-<n>`. */
  activeInstance: 1 | 2;
}

export interface SimPair {
  name: string;
  brokerIds: [string, string];
  /** Events on the primary not yet acknowledged by the replica, with their creation times. */
  queue: ReplicationQueue;
  produceRate: number;
  drainRate: number;
  promotion?: { mode: PromoteMode; replicaId: string; requestedAt: number };
  /** Messages left on the old primary by failovers, not replicated. */
  unreplicatedOnOldPrimary: number;
  /** Total messages produced to the pair, for the drill's accounting. */
  produced: number;
}

/** An SSM Parameter Store parameter: where client redirection writes the current primary's broker URLs. */
export interface SimParameter {
  name: string;
  value: string;
  type: 'String' | 'StringList' | 'SecureString';
  version: number;
  lastModified: Date;
}

export interface MetricSample {
  region: string;
  /** The `Broker` dimension: the broker's name with its active instance's suffix, `-1` or `-2`. */
  broker: string;
  metric: CrdrMetricName;
  at: number;
  /** Times in milliseconds, QueueSize in events. */
  value: number;
}

export interface PublishedMessage {
  topicArn: string;
  subject?: string;
  message: string;
  attributes: Record<string, string>;
  at: number;
}

/** One datapoint per broker per 10 s of simulated time at most; a day of them per broker at most. */
const SAMPLE_EVERY_MS = 10_000;
const MAX_SAMPLES = 8_640 * 4;

export interface WorldOptions {
  failoverMs?: number;
  /** What TotalReplicationLag shows while nothing is acknowledged (unpublished): see lib/mq-facts.ts. */
  stallLag?: StallLagBehaviour;
  /** The least time from an event's creation to its acknowledgement (0: none, the older model's exact drain). */
  linkLatencyMs?: number;
  /** Whether DescribeBroker lists a replica's endpoints (unpublished: lib/mq-facts.ts REPLICA_ENDPOINTS_LISTED). */
  replicaListsEndpoints?: boolean;
  /**
   * How long after Promote is accepted DescribeBroker starts listing the promotion as pending (unpublished:
   * lib/mq-facts.ts PROMOTION_SHOWN_WITHIN_MS); 0, at once, by default.
   */
  pendingShownAfterMs?: number;
  viewLatencyIn?: (typeof VIEW_LATENCY_REGIONS)[number];
  accountId?: string;
  /** Start a TCP listener per primary broker (off for pure model tests). */
  listen?: boolean;
}

export class CrdrWorld {
  readonly brokers = new Map<string, SimBroker>();
  readonly pairs = new Map<string, SimPair>();
  readonly regionsDown = new Set<string>();
  /** Brokers whose endpoints refuse connections while their Region's API still answers. */
  readonly endpointsDown = new Set<string>();
  /** Brokers whose endpoints accept connections and never answer (a hung broker). */
  readonly endpointsHung = new Set<string>();
  /**
   * Private brokers: their endpoints take clients in their own network, but the orchestrator's probe, from
   * outside it, has no route to them (its connections fail at once). The broker itself is unaffected.
   */
  readonly endpointsPrivate = new Set<string>();
  /** Regions that hang whole: API and brokers' endpoints accept and never answer; no replication. */
  readonly regionsHung = new Set<string>();
  /** Regions whose API alone hangs or answers late. */
  readonly apiFaults = new Map<string, RegionApiFault>();
  /** Connections held open by hung endpoints (to which broker), closed with their listener. */
  private readonly held = new Map<Socket, string>();
  partitioned = false;
  /** Faults armed for the next calls of an operation. */
  private readonly faults = new FaultQueue<FaultableOperation, ApiFault>();
  /** Per pair, which broker accepted clients from when (null: none), as it changed: the drill report's band. */
  readonly clientLog = new Map<string, Array<{ at: number; brokerId: string | null }>>();
  /**
   * Every Amazon MQ management API call received, by time, Region and operation: they all come out of one
   * account-wide budget (15 requests/s, burst 100; see lib/mq-facts.ts).
   */
  readonly apiCalls: Array<{ at: number; region: string; operation: string }> = [];
  /** Every Promote the API accepted, for tests and drills to count. */
  readonly promoteLog: Array<{ at: number; region: string; brokerId: string; mode: PromoteMode }> = [];
  /** CRDR metric datapoints as CloudWatch stores them: per Region, per metric, per `Broker` dimension. */
  readonly metrics: MetricSample[] = [];
  /** SNS topics by ARN, and every message published to them. */
  readonly topics = new Set<string>();
  readonly published: PublishedMessage[] = [];
  /** EventBridge Scheduler schedules, by `<region>/<group>/<name>` (kept, not fired). */
  readonly schedules = new Map<string, SimSchedule>();
  /** SSM parameters per Region, by name. */
  readonly parameters = new Map<string, Map<string, SimParameter>>();
  /** Secrets Manager secrets by ARN (each in the Region its ARN names). */
  readonly secrets = new Map<string, { region: string; name: string; value: string; versionId: string }>();
  /** Endpoints a broker reports instead of its simulated listener's: a real local broker stands in for it. */
  readonly externalEndpoints = new Map<string, string[]>();
  private lastSample = new Map<string, number>();
  private lastSync: number;
  private readonly failoverMs: number;
  /** Set per run by the model test, which plays each plausible behaviour. */
  stallLag: StallLagBehaviour;
  readonly linkLatencyMs: number;
  readonly replicaListsEndpoints: boolean;
  /** Set per test, which plays each plausible behaviour. */
  pendingShownAfterMs: number;
  /** Which Region's CloudWatch holds a direction's ReplicationLatency (unpublished: lib/mq-facts.ts). */
  viewLatencyIn: (typeof VIEW_LATENCY_REGIONS)[number];
  /**
   * ReplicationLatency datapoints of the global tables (AWS/DynamoDB), in the Region whose CloudWatch holds
   * them. `tableNames`: what the table is called in each Region (on AWS one name; here one physical table per
   * Region), so that a query by either name finds it.
   */
  readonly tableLatency: Array<{ region: string; tableNames: string[]; receivingRegion: string; at: number; ms: number }> = [];
  readonly accountId: string;
  private readonly listen: boolean;

  constructor(
    readonly clock: Clock,
    options: WorldOptions = {},
  ) {
    this.lastSync = clock.now();
    this.failoverMs = options.failoverMs ?? 5_000;
    this.stallLag = options.stallLag ?? STALL_LAG_BEHAVIOURS[0];
    this.linkLatencyMs = options.linkLatencyMs ?? 0;
    this.replicaListsEndpoints = options.replicaListsEndpoints ?? REPLICA_ENDPOINTS_LISTED[0];
    this.pendingShownAfterMs = options.pendingShownAfterMs ?? 0;
    this.viewLatencyIn = options.viewLatencyIn ?? VIEW_LATENCY_REGIONS[0];
    this.accountId = options.accountId ?? '123456789012';
    this.listen = options.listen ?? true;
  }

  addPair(spec: {
    name: string;
    primaryRegion: string;
    replicaRegion: string;
    produceRate?: number;
    drainRate?: number;
    backlog?: number;
  }): { primary: SimBroker; replica: SimBroker } {
    this.sync();
    const make = (region: string, role: Role, suffix: string): SimBroker => {
      const id = `b-${randomBytes(16)
        .toString('hex')
        .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}`;
      const name = `${spec.name}-${suffix}`;
      const broker: SimBroker = {
        id,
        name,
        arn: `arn:aws:mq:${region}:${this.accountId}:broker:${name}:${id}`,
        region,
        role,
        created: new Date(this.clock.now()),
        pairName: spec.name,
        activeInstance: 1,
      };
      this.brokers.set(id, broker);
      return broker;
    };
    const primary = make(spec.primaryRegion, REPLICATION_ROLE.PRIMARY, 'primary');
    const replica = make(spec.replicaRegion, REPLICATION_ROLE.REPLICA, 'replica');
    const now = this.clock.now();
    const queue = new ReplicationQueue(now);
    queue.add(now, now, spec.backlog ?? 0);
    this.pairs.set(spec.name, {
      name: spec.name,
      brokerIds: [primary.id, replica.id],
      queue,
      produceRate: spec.produceRate ?? 0,
      drainRate: spec.drainRate ?? 100,
      unreplicatedOnOldPrimary: 0,
      produced: spec.backlog ?? 0,
    });
    this.noteClients(this.clock.now());
    return { primary, replica };
  }

  // ---- fault injection and load ----

  setRegionUp(region: string, up: boolean): void {
    this.sync();
    if (up) this.regionsDown.delete(region);
    else this.regionsDown.add(region);
    this.noteClients(this.clock.now());
  }

  setEndpointsUp(brokerId: string, up: boolean): void {
    if (up) this.endpointsDown.delete(brokerId);
    else this.endpointsDown.add(brokerId);
  }

  countApiCall(operation: string, region: string): void {
    this.apiCalls.push({ at: this.clock.now(), region, operation });
    if (this.apiCalls.length > MAX_SAMPLES) this.apiCalls.splice(0, this.apiCalls.length - MAX_SAMPLES);
  }

  /** The broker's endpoints are unreachable from the probe's network (a private broker, no route); clients are unaffected. */
  setEndpointsPrivate(brokerId: string, isPrivate: boolean): void {
    if (isPrivate) this.endpointsPrivate.add(brokerId);
    else this.endpointsPrivate.delete(brokerId);
  }

  /** The broker's endpoints accept TCP connections and never answer (no TLS handshake, nothing). */
  setEndpointsHung(brokerId: string, hung: boolean): void {
    if (hung) this.endpointsHung.add(brokerId);
    else this.endpointsHung.delete(brokerId);
  }

  /** The whole Region hangs: its API and its brokers' endpoints accept connections and never answer. */
  setRegionHung(region: string, hung: boolean): void {
    this.sync();
    if (hung) this.regionsHung.add(region);
    else this.regionsHung.delete(region);
    this.noteClients(this.clock.now());
  }

  /** The Region's API hangs, or answers `ms` late; undefined restores it. */
  /** A write of a global table replicated from one Region to the other: CloudWatch's ReplicationLatency. */
  recordReplication(copy: { from: string; to: string; tableNames: string[]; at: number; latencyMs: number }): void {
    const region = this.viewLatencyIn === 'source' ? copy.from : copy.to;
    this.tableLatency.push({ region, tableNames: copy.tableNames, receivingRegion: copy.to, at: copy.at, ms: copy.latencyMs });
    if (this.tableLatency.length > MAX_SAMPLES) this.tableLatency.splice(0, this.tableLatency.length - MAX_SAMPLES);
  }

  setApiFault(region: string, fault: RegionApiFault | undefined): void {
    if (fault) this.apiFaults.set(region, fault);
    else this.apiFaults.delete(region);
  }

  /** What a call to the Region's API meets before it is answered: the Region's hang first, then its own fault. */
  apiFaultIn(region: string): RegionApiFault | undefined {
    return this.regionsHung.has(region) ? { kind: 'hang' } : this.apiFaults.get(region);
  }

  /** The broker reports `urls` as its endpoints (e.g. a local ActiveMQ broker's); an empty list restores its own. */
  setExternalEndpoints(brokerId: string, urls: string[]): void {
    if (!this.brokers.has(brokerId)) throw new SimError('NotFoundException', 404, `broker ${brokerId} does not exist`);
    if (urls.length === 0) this.externalEndpoints.delete(brokerId);
    else this.externalEndpoints.set(brokerId, [...urls]);
  }

  /** The broker's standby instance takes over (in its Region): its metrics move to the other `Broker` name. */
  takeOver(brokerId: string): void {
    this.sync();
    const broker = this.brokers.get(brokerId);
    if (!broker) throw new SimError('NotFoundException', 404, `broker ${brokerId} does not exist`);
    broker.activeInstance = broker.activeInstance === 1 ? 2 : 1;
  }

  setPartitioned(partitioned: boolean): void {
    this.sync();
    this.partitioned = partitioned;
  }

  /** The next `count` calls of `operation` (in any Region) meet `fault`. */
  injectFault(operation: FaultableOperation, fault: ApiFault, count = 1): void {
    this.faults.inject(operation, fault, count);
  }

  /** How many injected faults are still armed. */
  get armedFaults(): number {
    return this.faults.armed;
  }

  /**
   * The account's Amazon MQ API budget (15 requests/s, burst 100: lib/mq-facts.ts) spent by other callers: every
   * call answers 429 until this is cleared.
   */
  mqBudgetSpent = false;

  clearFaults(): void {
    this.faults.clear();
  }

  /**
   * Runs one API call through its armed fault, if any. `bad-request`, `throttle` and `server-error` answer
   * without acting; `lost-response` acts, then answers 500.
   */
  withFault<T>(operation: FaultableOperation, call: () => T): T {
    if (this.mqBudgetSpent) throw new SimError('TooManyRequestsException', 429, `${operation}: rate exceeded`);
    const fault = this.faults.take(operation);
    if (fault === 'throttle') throw new SimError('TooManyRequestsException', 429, `${operation}: rate exceeded (injected)`);
    if (fault === 'server-error') {
      throw new SimError('InternalServerErrorException', 500, `${operation}: internal error (injected)`);
    }
    if (fault === 'bad-request') throw new SimError('BadRequestException', 400, `${operation}: bad request (injected)`);
    const result = call();
    if (fault === 'lost-response') {
      throw new SimError('InternalServerErrorException', 500, `${operation}: done, but the response was lost (injected)`);
    }
    return result;
  }

  setProduceRate(pairName: string, messagesPerSecond: number): void {
    this.sync();
    this.pair(pairName).produceRate = messagesPerSecond;
  }

  /** Forgets a pair and its brokers (closing their endpoints), so that one world can serve many runs. */
  async removePair(name: string): Promise<void> {
    const pair = this.pair(name);
    for (const id of pair.brokerIds) {
      const listener = this.brokers.get(id)?.listener;
      this.dropHeld(id);
      if (listener) await new Promise((resolve) => listener.close(resolve));
      this.brokers.delete(id);
      this.endpointsDown.delete(id);
      this.endpointsHung.delete(id);
      this.endpointsPrivate.delete(id);
      this.externalEndpoints.delete(id);
    }
    this.pairs.delete(name);
    this.lastSample.delete(name);
    this.clientLog.delete(name);
  }

  // ---- reads ----

  pair(name: string): SimPair {
    const pair = this.pairs.get(name);
    if (!pair) throw new SimError('NotFoundException', 404, `pair ${name} does not exist`);
    return pair;
  }

  /** Both brokers of a pair, primary first. */
  roles(pairName: string): { primary: SimBroker; replica: SimBroker } {
    const [a, b] = this.pair(pairName).brokerIds.map((id) => this.brokers.get(id) as SimBroker) as [SimBroker, SimBroker];
    return a.role === REPLICATION_ROLE.PRIMARY ? { primary: a, replica: b } : { primary: b, replica: a };
  }

  /** Events of a pair not yet acknowledged by the replica, as QueueSize shows them. */
  queueSize(pairName: string): number {
    this.sync();
    return Math.round(this.pair(pairName).queue.size);
  }

  isRegionUp(region: string): boolean {
    return !this.regionsDown.has(region);
  }

  /**
   * EventBridge Scheduler's schedule groups besides `default`, per Region. Every account has the default group;
   * others are created (CloudFormation user guide, AWS::Scheduler::ScheduleGroup). A schedule into a group that
   * does not exist is refused; that the answer is ResourceNotFoundException ("the request references a resource
   * which does not exist", the service's error list) is inferred. The product depends only on the refusal: the
   * readiness check fails on any error.
   */
  readonly scheduleGroups = new Map<string, Set<string>>();

  createScheduleGroup(region: string, name: string): void {
    this.scheduleGroups.set(region, new Set([...(this.scheduleGroups.get(region) ?? []), name]));
  }

  hasScheduleGroup(region: string, name: string): boolean {
    return name === 'default' || (this.scheduleGroups.get(region)?.has(name) ?? false);
  }

  /** One service of a Region impaired while the rest of it works (`cloudwatch`): its API answers 500. */
  readonly servicesDown = new Set<`${string}:${string}`>();

  isServiceUp(service: string, region: string): boolean {
    return this.isRegionUp(region) && !this.servicesDown.has(`${service}:${region}`);
  }

  /** Up and not hanging: its brokers replicate and take clients. */
  isRegionServing(region: string): boolean {
    return this.isRegionUp(region) && !this.regionsHung.has(region);
  }

  linkUp(pair: SimPair): boolean {
    return !this.partitioned && pair.brokerIds.every((id) => this.isRegionServing((this.brokers.get(id) as SimBroker).region));
  }

  /** The primary accepts client connections: its Region serves, its endpoints do not hang, no promotion is under way. */
  accepting(broker: SimBroker): boolean {
    const pair = this.pair(broker.pairName);
    return (
      broker.role === REPLICATION_ROLE.PRIMARY &&
      this.isRegionServing(broker.region) &&
      !this.endpointsHung.has(broker.id) &&
      !pair.promotion
    );
  }

  /** The broker's endpoints take TCP connections and never answer. */
  private hangs(broker: SimBroker): boolean {
    return this.regionsHung.has(broker.region) || this.endpointsHung.has(broker.id);
  }

  // ---- API operations (region is the Region of the API endpoint the request was sent to) ----

  listBrokers(region: string): SimBroker[] {
    this.requireRegion(region);
    this.sync();
    return [...this.brokers.values()].filter((b) => b.region === region);
  }

  describe(region: string, brokerId: string): SimBroker {
    this.requireRegion(region);
    this.sync();
    const broker = this.brokers.get(brokerId);
    if (!broker || broker.region !== region) {
      throw new SimError(
        'NotFoundException',
        404,
        `Can't find requested broker [${brokerId}]. Make sure your broker exists.`,
        'broker-id',
      );
    }
    return broker;
  }

  /** The role a broker is moving to while a promotion of its pair is under way. */
  pendingRole(broker: SimBroker): Role | undefined {
    const promotion = this.pair(broker.pairName).promotion;
    if (!promotion || this.clock.now() - promotion.requestedAt < this.pendingShownAfterMs) return undefined;
    return broker.id === promotion.replicaId ? REPLICATION_ROLE.PRIMARY : REPLICATION_ROLE.REPLICA;
  }

  brokerState(broker: SimBroker): 'RUNNING' | 'REPLICA' {
    return broker.role === REPLICATION_ROLE.PRIMARY ? 'RUNNING' : 'REPLICA';
  }

  promote(region: string, brokerId: string, mode: string): void {
    if (mode !== 'SWITCHOVER' && mode !== 'FAILOVER') {
      throw new SimError('BadRequestException', 400, `mode must be SWITCHOVER or FAILOVER, got ${JSON.stringify(mode)}`, 'mode');
    }
    const broker = this.describe(region, brokerId);
    const pair = this.pair(broker.pairName);
    if (broker.role !== REPLICATION_ROLE.REPLICA) {
      throw new SimError(
        'BadRequestException',
        400,
        `Broker [${brokerId}] is not a replica broker. Promote is only supported on a replica broker.`,
        'broker-id',
      );
    }
    const now = this.clock.now();
    if (pair.promotion?.mode === 'FAILOVER') {
      throw new SimError(
        'BadRequestException',
        400,
        `A failover is already in progress for broker [${brokerId}]; it cannot be interrupted.`,
        'mode',
      );
    }
    if (pair.promotion?.mode === 'SWITCHOVER' && mode === 'SWITCHOVER') {
      throw new SimError('BadRequestException', 400, `A switchover is already in progress for broker [${brokerId}].`, 'mode');
    }
    pair.promotion = { mode, replicaId: brokerId, requestedAt: now };
    this.promoteLog.push({ at: now, region, brokerId, mode });
    this.noteClients(now);
    this.sync();
  }

  // ---- time ----

  /** Brings every pair up to the clock, completing promotions at the exact moment they complete. */
  sync(): void {
    const now = this.clock.now();
    const from = this.lastSync;
    this.lastSync = now;
    for (const pair of this.pairs.values()) {
      let t = from;
      while (t < now || pair.promotion) {
        const done = this.advance(pair, t, now);
        if (done === undefined) break;
        t = done;
      }
      this.sample(pair, now);
    }
  }

  /**
   * Each broker publishes its role's CRDR metrics in its Region while that Region serves, under its active
   * instance; the values follow the published definitions (lib/mq-facts.ts), times in milliseconds.
   */
  private sample(pair: SimPair, now: number): void {
    const { primary, replica } = this.roles(pair.name);
    const last = this.lastSample.get(pair.name);
    if (last !== undefined && now - last < SAMPLE_EVERY_MS) return;
    this.lastSample.set(pair.name, now);
    const { queue } = pair;
    const acked = queue.lastAck;
    // TA - TC of the last event acknowledged: what the replica plugin computes on each acknowledgement.
    const ackLag = acked ? acked.at - acked.createdAt : 0;
    const oldest = queue.oldest();
    const stalled = !this.linkUp(pair) && queue.size > 0;
    const totalLag =
      this.stallLag === 'grow' && oldest !== undefined && (stalled || now - oldest > ackLag) ? now - oldest : ackLag;
    const publish = (broker: SimBroker, values: Array<[CrdrMetricName, number]>) => {
      if (!this.isRegionServing(broker.region)) return;
      const dimension = instanceDimension(broker.name, broker.activeInstance);
      for (const [metric, value] of values) {
        this.metrics.push({ region: broker.region, broker: dimension, metric, at: now, value: Math.round(value) });
      }
    };
    publish(primary, [
      [CRDR_METRIC.TOTAL_REPLICATION_LAG, totalLag],
      [CRDR_METRIC.PRIMARY_WAIT_TIME, now - (acked?.createdAt ?? queue.createdAt)],
      [CRDR_METRIC.QUEUE_SIZE, queue.size],
    ]);
    // The replica processes an event as it acknowledges it (TP = TA here).
    publish(replica, [
      [CRDR_METRIC.REPLICATION_LAG, ackLag],
      [CRDR_METRIC.REPLICA_WAIT_TIME, now - (acked?.at ?? queue.createdAt)],
    ]);
    if (this.metrics.length > MAX_SAMPLES) this.metrics.splice(0, this.metrics.length - MAX_SAMPLES);
  }

  /**
   * A broker's QueueSize and TotalReplicationLag (seconds) per minute, the larger of its two instances, as the
   * orchestrator's reader makes them (lib/adapters/replication-metrics.ts): for drill reports. `local` is false.
   */
  series(broker: SimBroker): Array<{ at: number; local: boolean; events?: number; lagSeconds?: number }> {
    const byMinute = new Map<number, { at: number; local: boolean; events?: number; lagSeconds?: number }>();
    const names = new Set(BROKER_INSTANCES.map((i) => instanceDimension(broker.name, i)));
    for (const m of this.metrics) {
      if (m.region !== broker.region || !names.has(m.broker)) continue;
      const key =
        m.metric === CRDR_METRIC.QUEUE_SIZE
          ? 'events'
          : m.metric === CRDR_METRIC.TOTAL_REPLICATION_LAG
            ? 'lagSeconds'
            : undefined;
      if (!key) continue;
      const at = Math.floor(m.at / 60_000) * 60_000;
      const point = byMinute.get(at) ?? { at, local: false };
      const value = key === 'events' ? m.value : (m.value * TIME_METRIC_MS_PER_UNIT) / 1000;
      point[key] = Math.max(point[key] ?? Number.NEGATIVE_INFINITY, value);
      byMinute.set(at, point);
    }
    return [...byMinute.values()].sort((a, b) => a.at - b.at);
  }

  addTopic(region: string, name: string): string {
    const arn = `arn:aws:sns:${region}:${this.accountId}:${name}`;
    this.topics.add(arn);
    return arn;
  }

  /** Advances one pair from t to at most `until`; returns the time a promotion completed at, if one did. */
  private advance(pair: SimPair, t: number, until: number): number | undefined {
    const promotion = pair.promotion;
    if (promotion?.mode === 'FAILOVER') {
      const at = promotion.requestedAt + this.failoverMs;
      this.replicate(pair, t, Math.min(until, at), false);
      if (at > until) return undefined;
      this.completePromotion(pair, at);
      return at;
    }
    if (promotion?.mode === 'SWITCHOVER') {
      // Producers are stopped; the switchover completes the moment the queue is empty (needs the link).
      const emptyAt = this.replicate(pair, t, until, false);
      if (emptyAt === undefined) return undefined;
      this.completePromotion(pair, emptyAt);
      return emptyAt;
    }
    this.replicate(pair, t, until, true);
    return undefined;
  }

  /**
   * Producers (when `produce` and the primary accepts clients) and the link over [from, to]. Returns when the
   * queue became empty, if it was not empty at `from` and is at the end.
   */
  private replicate(pair: SimPair, from: number, to: number, produce: boolean): number | undefined {
    const link = this.linkUp(pair);
    // Only the link empties the queue: a switchover with nothing left still needs the other Region to answer.
    if (to <= from) return link && pair.queue.size === 0 && !produce ? from : undefined;
    const { primary } = this.roles(pair.name);
    const rate = produce && this.accepting(primary) ? pair.produceRate : 0;
    const queue = pair.queue;
    const wasEmpty = queue.size === 0;
    if (!link || (this.linkLatencyMs === 0 && rate === 0)) {
      queue.add(from, to, (rate * (to - from)) / 1000);
      pair.produced += (rate * (to - from)) / 1000;
      if (!link) return undefined;
      // No latency and nothing produced: the exact drain of the older model.
      const before = queue.size;
      const acked = queue.ack((pair.drainRate * (to - from)) / 1000, to, to);
      if (queue.size > 0 || before === 0) return wasEmpty && !produce ? from : undefined;
      const emptyAt = from + (acked / pair.drainRate) * 1000;
      queue.lastAck = queue.lastAck && { ...queue.lastAck, at: emptyAt };
      return emptyAt;
    }
    // In steps of at most a second: events are produced and acknowledged as the clock goes.
    for (let a = from; a < to; ) {
      const b = this.linkLatencyMs === 0 ? to : Math.min(to, a + 1_000);
      const produced = (rate * (b - a)) / 1000;
      queue.add(a, b, produced);
      pair.produced += produced;
      const capacity = (pair.drainRate * (b - a)) / 1000;
      const acked = queue.ack(capacity, b - this.linkLatencyMs, b);
      if (rate === 0 && queue.size === 0 && !(wasEmpty && a === from && acked === 0)) {
        const lastCreated = queue.lastAck?.createdAt ?? a;
        const emptyAt = Math.min(b, Math.max(a + (acked / pair.drainRate) * 1000, lastCreated + this.linkLatencyMs));
        if (queue.lastAck) queue.lastAck = { ...queue.lastAck, at: emptyAt };
        return emptyAt;
      }
      a = b;
    }
    return wasEmpty && rate === 0 && queue.size === 0 ? from : undefined;
  }

  private completePromotion(pair: SimPair, at: number): void {
    const { primary, replica } = this.roles(pair.name);
    primary.role = REPLICATION_ROLE.REPLICA;
    replica.role = REPLICATION_ROLE.PRIMARY;
    // A failover does not wait for the queue: those events stay behind on the old primary. The new primary
    // starts a replication queue of its own.
    pair.unreplicatedOnOldPrimary += Math.round(pair.queue.size);
    pair.queue = new ReplicationQueue(at);
    pair.promotion = undefined;
    this.noteClients(at);
  }

  /** When `brokerId` first accepted clients, from the log (a promotion's completion, if its Region serves). */
  acceptingSince(pairName: string, brokerId: string): number | undefined {
    return this.clientLog.get(pairName)?.find((entry) => entry.brokerId === brokerId)?.at;
  }

  /** Logs, per pair, the broker accepting clients when it differs from the last one logged. */
  private noteClients(at: number): void {
    for (const pair of this.pairs.values()) {
      const taking = pair.brokerIds.find((id) => this.accepting(this.brokers.get(id) as SimBroker)) ?? null;
      const log = this.clientLog.get(pair.name) ?? [];
      if (log.at(-1)?.brokerId !== taking) log.push({ at: Math.round(at), brokerId: taking });
      this.clientLog.set(pair.name, log);
    }
  }

  private requireRegion(region: string, service = 'Amazon MQ'): void {
    if (!this.isRegionUp(region)) {
      throw new SimError('InternalServerErrorException', 500, `${service} in ${region} is unavailable (simulated Region outage)`);
    }
  }

  // ---- SSM Parameter Store (region is the Region of the API endpoint) ----

  putParameter(region: string, input: { name: string; value: string; type: SimParameter['type'] }): SimParameter {
    this.requireRegion(region, 'SSM');
    const inRegion = this.parameters.get(region) ?? new Map<string, SimParameter>();
    this.parameters.set(region, inRegion);
    const existing = inRegion.get(input.name);
    const parameter: SimParameter = {
      name: input.name,
      value: input.value,
      type: input.type,
      version: (existing?.version ?? 0) + 1,
      lastModified: new Date(this.clock.now()),
    };
    inRegion.set(input.name, parameter);
    return parameter;
  }

  getParameter(region: string, name: string): SimParameter | undefined {
    this.requireRegion(region, 'SSM');
    return this.parameters.get(region)?.get(name);
  }

  /** Creates or rotates a secret; returns its ARN. */
  putSecret(region: string, name: string, value: string): string {
    const arn = `arn:aws:secretsmanager:${region}:${this.accountId}:secret:${name}-AbCdEf`;
    this.secrets.set(arn, { region, name, value, versionId: randomBytes(8).toString('hex') });
    return arn;
  }

  parameterArn(region: string, name: string): string {
    return `arn:aws:ssm:${region}:${this.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  // ---- endpoints ----

  endpoints(broker: SimBroker): string[] {
    const external = this.externalEndpoints.get(broker.id);
    if (external) return external;
    return broker.port ? [`ssl://127.0.0.1:${broker.port}`, `stomp+ssl://127.0.0.1:${broker.port}`] : [];
  }

  /** Opens the TCP listener of every broker that accepts clients and closes the others'. */
  async syncListeners(): Promise<void> {
    if (!this.listen) return;
    this.sync();
    await Promise.all(
      [...this.brokers.values()].map(async (broker) => {
        // A hung primary's port stays open (connections are accepted, then held); a down Region's closes.
        const hung = broker.role === REPLICATION_ROLE.PRIMARY && this.isRegionUp(broker.region) && this.hangs(broker);
        const open = (this.accepting(broker) && !this.endpointsDown.has(broker.id)) || hung;
        if (open && !broker.listener) broker.listener = await this.openListener(broker);
        // DescribeBroker lists a broker's endpoints even while they refuse connections (a replica's always do), as on AWS.
        if (!open && broker.port === undefined) {
          const probe = await this.openListener(broker);
          await new Promise((resolve) => probe.close(resolve));
        }
        if (!open && broker.listener) {
          const listener = broker.listener;
          broker.listener = undefined;
          this.dropHeld(broker.id);
          await new Promise((resolve) => listener.close(resolve));
        }
      }),
    );
  }

  private async openListener(broker: SimBroker): Promise<Server> {
    // Each connection completes a TLS handshake and is closed, unless the broker hangs when it arrives.
    const tls = createTlsServer(TLS, (secure) => secure.end());
    tls.on('tlsClientError', () => undefined);
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      if (this.endpointsPrivate.has(broker.id)) {
        socket.destroy();
        return;
      }
      if (this.hangs(broker)) {
        this.held.set(socket, broker.id);
        socket.once('close', () => this.held.delete(socket));
        return;
      }
      tls.emit('connection', socket);
    });
    const listenOn = (port: number) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    try {
      await listenOn(broker.port ?? 0);
    } catch {
      await listenOn(0); // the old port was taken meanwhile
    }
    const address = server.address();
    if (address && typeof address === 'object') broker.port = address.port;
    return server;
  }

  private dropHeld(brokerId?: string): void {
    for (const [socket, id] of this.held) if (brokerId === undefined || id === brokerId) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropHeld();
    await Promise.all(
      [...this.brokers.values()].map((b) => (b.listener ? new Promise((resolve) => b.listener?.close(resolve)) : undefined)),
    );
    for (const b of this.brokers.values()) b.listener = undefined;
  }
}
