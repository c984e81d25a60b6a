/**
 * Runs one event through the core: load the pair, observe the local broker, decide, record the decision with
 * a conditional write, and only then run the commands. A Promote's result comes back as an event of its own,
 * so that acceptance or rejection is recorded too.
 *
 * Two invocations racing on the same event (EventBridge delivers at least once) both decide from version v;
 * only one conditional write of v+1 succeeds. The loser reloads, decides again on v+1 (where the operation is
 * now in flight) and records a refusal: Promote is sent once.
 */
import { randomUUID } from 'node:crypto';
import { callErrorMessage } from './adapters/http.ts';
import { currentBudget } from './budget.ts';
import { decide, findRequest, isInFlight } from './core/decide.ts';
import type {
  BreakGlassRecord,
  BrokerObservation,
  Command,
  CoreConfig,
  CoreEvent,
  Decision,
  PairState,
  PairViewRead,
  ReplicationPoint,
} from './core/model.ts';
import { Code, Origin, Reversal } from './core/model.ts';
import { BrokerApiError, ContentionError, VersionConflictError } from './errors.ts';
import type {
  BrokerApi,
  ClientRedirector,
  Clock,
  DeadlineScheduler,
  Notifier,
  PairStore,
  PairViewStore,
  ProbeResult,
  PublishedItem,
  ReplicationMetrics,
} from './ports.ts';

export interface OrchestratorConfig extends CoreConfig {
  localBrokerId: string;
  /**
   * After a Promote is accepted, an invocation watches DescribeBroker every `intervalMs` for up to `windowMs`
   * (less when its budget runs short: `reserveMs` stays for the last write), so that completion, the recovery
   * time and client redirection follow within seconds. Absent or a 0 window: no watching.
   */
  watch?: { windowMs: number; intervalMs: number; reserveMs: number };
}

/** The part of a logger the orchestrator uses (Powertools' Logger fits; so does console). */
export interface LogSink {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface Orchestrator {
  config: OrchestratorConfig;
  store: PairStore;
  broker: BrokerApi;
  scheduler: DeadlineScheduler;
  notifier: Notifier;
  clock: Clock;
  log: LogSink;
  newOperationId?: () => string;
  /** Where the replication lag is read from, for predictive escalation and RPO estimates. */
  lag?: {
    metrics: ReplicationMetrics;
    brokers: Array<{ region: string; brokerName: string; local: boolean }>;
    timeoutMs?: number;
  };
  /** Points clients at the new primary after a completion (when config.redirect is set). */
  redirector?: ClientRedirector;
  /** The pair view: read before every decision, this Region's outcomes published after (absent: one stack alone). */
  view?: PairViewStore;
  /** Break-glass failovers that neither the table nor the pair view could keep yet (this container only). */
  pendingBreakGlass?: BreakGlassRecord[];
}

/** A lag series long enough for a switchover's drain rate: one datapoint a minute. */
const LAG_PERIOD_SECONDS = 60;
const LAG_LOOKBACK_MS = 5 * 60_000;

const MAX_WRITE_ATTEMPTS = 5;

export const newOperationId = (now: number): string => `op-${now.toString(36)}-${randomUUID().slice(0, 8)}`;

/**
 * When an invocation watches a promotion under way (see OrchestratorConfig.watch): `after-promote`, only when it
 * saw Amazon MQ accept its own Promote (alarms, probes); `always`, whenever one is under way (the sweep, once a
 * minute, so that every promotion is watched until it completes). The operator API never: it answers at once.
 */
export type WatchMode = 'never' | 'after-promote' | 'always';

/** Handles `event` and the follow-up events its commands produce; returns every decision recorded. */
export async function handleEvent(o: Orchestrator, event: CoreEvent, options: { watch?: WatchMode } = {}): Promise<Decision[]> {
  return (await handleObserved(o, event, options)).decisions;
}

/** handleEvent, with the local broker as the last decision saw it. */
async function handleObserved(
  o: Orchestrator,
  event: CoreEvent,
  options: { watch?: WatchMode },
): Promise<{ decisions: Decision[]; observation?: BrokerObservation }> {
  const recorded: Decision[] = [];
  const queue: CoreEvent[] = [event];
  const watchUntil = o.clock.now() + (o.config.watch?.windowMs ?? 0);
  const watching = () =>
    options.watch === 'always' || (options.watch === 'after-promote' && recorded.some((d) => d.action === 'PROMOTE_ACCEPTED'));
  let last: { state: PairState; observation: BrokerObservation } | undefined;
  for (;;) {
    const next =
      queue.shift() ?? (watching() && (await keepWatching(o, last, watchUntil)) ? ({ type: 'WATCH' } as const) : undefined);
    if (!next) break;
    const outcome = await decideAndRecord(o, next);
    // A break-glass failover waiting to be recorded was decided first; the event itself comes next.
    if (outcome.deferred) queue.unshift(outcome.deferred);
    last = outcome;
    recorded.push(...outcome.decisions);
    for (const decision of outcome.decisions) o.log.info('decision', { pairId: o.config.pairId, ...decision });
    for (const command of outcome.commands) {
      const followUp = await run(o, command);
      if (followUp) queue.push(followUp);
    }
  }
  return { decisions: recorded, ...(last ? { observation: last.observation } : {}) };
}

const PROMOTION_UNDER_WAY: ReadonlySet<string> = new Set(['SWITCHOVER_IN_PROGRESS', 'FAILOVER_IN_PROGRESS']);

/** The health check's schedule: once a minute, EventBridge Scheduler's finest rate. */
export const PROBE_SCHEDULE_MS = 60_000;

/** Probe rounds in one health-check invocation: one every `probeIntervalMs` until the next invocation. */
const roundsPerInvocation = (probeIntervalMs: number): number => Math.max(1, Math.ceil(PROBE_SCHEDULE_MS / probeIntervalMs));

/** The readiness evaluation's schedule in each Region (serverless.yml: rate(10 minutes)). */
export const READINESS_SCHEDULE_MS = 10 * 60_000;

/**
 * DescribeBroker calls a minute of one pair at rest, both Regions: in the replica's Region each probe round
 * describes the primary and then the local broker (its decision's observation), and the sweep the local broker
 * once; in the primary's Region one round and the sweep; in each Region the readiness evaluation describes both
 * brokers and its decision the local one, every 10 minutes. test/integration/api-budget.test.ts counts them on
 * the simulator's wire.
 */
export const describeCallsAtRest = (probeIntervalMs: number = PROBE_SCHEDULE_MS): number =>
  2 * roundsPerInvocation(probeIntervalMs) + 1 + 3 + (2 * 3 * 60_000) / READINESS_SCHEDULE_MS;

/**
 * One health-check invocation: a probe every `probeIntervalMs` from its start, until the next invocation of the
 * schedule takes over, each decided as it comes. A round runs only if the probe and the decision's write
 * (`reserveMs`) fit in what is left of the budget after its pause. One round (the interval a minute) watches a
 * Promote it saw accepted, as every trigger does; with more, the next rounds (and the sweep) see the completion
 * instead. While the local broker is the primary, what it probes is the replica and a failed probe decides
 * nothing: one round a minute keeps the record current, and that Region's stack costs what it did before.
 */
export async function probeRounds(
  o: Orchestrator,
  probe: () => Promise<ProbeResult>,
  { sentAt, reserveMs }: { sentAt?: number; reserveMs: number },
): Promise<Decision[]> {
  const interval = o.config.probeIntervalMs ?? PROBE_SCHEDULE_MS;
  const rounds = roundsPerInvocation(interval);
  const start = o.clock.now();
  const decisions: Decision[] = [];
  for (let round = 0; round < rounds; round++) {
    const pause = start + round * interval - o.clock.now();
    if (pause > 0) await o.clock.sleep(pause);
    // Measured after the pause, which took real time on AWS (and none on the embedded default's manual clock).
    const budget = currentBudget();
    if (round > 0 && budget && budget.remaining() < reserveMs) break;
    const result = await probe();
    const event: CoreEvent = { type: 'PROBE', ...result, ...(sentAt !== undefined ? { sentAt } : {}) };
    const decided = await handleObserved(o, event, { watch: rounds === 1 ? 'after-promote' : 'never' });
    decisions.push(...decided.decisions);
    // A delivery too old to act on (EventBridge retried it for hours) is not probed again and again.
    if (decided.decisions.some((d) => d.code === Code.STALE_EVENT)) break;
    const local = decided.observation;
    if (local?.role === 'PRIMARY' && !local.promotionPending) break;
  }
  return decisions;
}

/**
 * Whether to look again: Amazon MQ accepted a Promote that has not completed, the watch window is open, and
 * after the pause the budget still holds its reserve for the last write and its commands.
 */
async function keepWatching(
  o: Orchestrator,
  last: { state: PairState; observation: BrokerObservation } | undefined,
  until: number,
): Promise<boolean> {
  const watch = o.config.watch;
  const op = last?.state.operation;
  if (!watch || !op || !PROMOTION_UNDER_WAY.has(op.status)) return false;
  // A broker that could not be seen (its Region's API failing or hanging) is left to the next sweep: looking
  // again every few seconds would only spend the budget on timeouts.
  if (last?.observation.role === 'UNKNOWN') return false;
  // At a switchover's deadline the escalation's own trigger takes over (and reads the lag for the RPO).
  const deadline = op.mode === 'SWITCHOVER' ? (op.deadlineAt ?? until) : until;
  if (o.clock.now() + watch.intervalMs > Math.min(until, deadline)) return false;
  await o.clock.sleep(watch.intervalMs);
  // Measured after the pause, which took real time on AWS (and none on the embedded default's manual clock).
  const budget = currentBudget();
  return !budget || budget.remaining() >= watch.reserveMs;
}

async function decideAndRecord(o: Orchestrator, event: CoreEvent) {
  const { config } = o;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const [stored, observation, view] = await Promise.all([
      o.store.load(config.pairId),
      o.broker.observe(config.localBrokerId),
      readView(o),
    ]);
    const glass = event.type === 'BREAK_GLASS' ? undefined : unrecordedBreakGlass(o, stored.state, view?.own)[0];
    const decided: CoreEvent = glass ? { type: 'BREAK_GLASS', record: glass } : event;
    const now = o.clock.now();
    const lag = await readLag(o, stored.state, decided, now, observation);
    const outcome = decide(stored.state, decided, {
      now,
      observation,
      config,
      newOperationId: o.newOperationId ?? (() => newOperationId(now)),
      ...(lag ? { lag } : {}),
      ...(view ? { pair: view.read } : {}),
    });
    const result = { ...outcome, observation, ...(glass ? { deferred: event } : {}) };
    if (outcome.decisions.length === 0) {
      await publish(o, outcome.state, view);
      return result;
    }
    try {
      await o.store.save(stored, outcome.state, outcome.decisions);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      o.log.info('lost the race for the pair record; deciding again', { pairId: config.pairId, attempt });
      continue;
    }
    // In place: the operator API runs requests through a copy of the orchestrator that shares this list.
    const kept = o.pendingBreakGlass?.findIndex((r) => r.id === glass?.id) ?? -1;
    if (kept >= 0) o.pendingBreakGlass?.splice(kept, 1);
    await publish(o, outcome.state, view);
    return result;
  }
  throw new ContentionError(config.pairId, MAX_WRITE_ATTEMPTS);
}

interface ViewRead {
  read: PairViewRead;
  own?: PublishedItem;
}

/** The pair view before a decision; a view that cannot be read is a fact the core decides on, not a failure. */
async function readView(o: Orchestrator): Promise<ViewRead | undefined> {
  if (!o.view) return undefined;
  try {
    const { own, peer } = await o.view.read(o.config.pairId);
    return { read: { peer: peer ?? null }, ...(own ? { own } : {}) };
  } catch (error) {
    o.log.warn('pair view not read', { pairId: o.config.pairId, error: errorMessage(error) });
    return { read: { error: errorMessage(error) } };
  }
}

const isRecorded = (state: PairState, record: BreakGlassRecord): boolean =>
  findRequest(state, record.requestKey) !== undefined || state.operation?.id === record.id;

/** Break-glass failovers kept in the pair view or in memory and not in the record yet, oldest first. */
function unrecordedBreakGlass(o: Orchestrator, state: PairState, own: PublishedItem | undefined): BreakGlassRecord[] {
  const all = new Map<string, BreakGlassRecord>();
  for (const r of [...(own?.breakGlass ?? []), ...(o.pendingBreakGlass ?? [])]) all.set(r.id, r);
  return [...all.values()].filter((r) => !isRecorded(state, r)).sort((a, b) => a.at - b.at);
}

/** What this Region publishes for the other: its newest promotion, its operation, its re-arm. */
function publishedItem(o: Orchestrator, state: PairState, own: PublishedItem | undefined): PublishedItem {
  const op = state.operation;
  const glass = (own?.breakGlass ?? []).filter((r) => !isRecorded(state, r));
  return {
    region: o.config.region ?? '',
    version: state.version,
    publishedAt: o.clock.now(),
    ...(state.lastPromotion ? { lastPromotion: state.lastPromotion } : {}),
    ...(op ? { operation: { id: op.id, mode: op.mode, status: op.status, trigger: op.trigger, startedAt: op.startedAt } } : {}),
    ...(state.rearm ? { rearm: state.rearm } : {}),
    ...(glass.length > 0 ? { breakGlass: glass } : {}),
  };
}

/** JSON with sorted keys: DynamoDB gives a map's attributes back in no particular order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );

/**
 * How old this Region's item may get before it is written again unchanged: the sweep, every minute, writes it (a
 * little under a minute, so that a sweep a few milliseconds early still does).
 */
export const VIEW_HEARTBEAT_MS = 50_000;

/**
 * Publishes this Region's outcomes when they differ from what the view holds. A failed write is logged: the
 * next event (the sweep, within a minute) finds the difference and writes again.
 */
async function publish(o: Orchestrator, state: PairState, view: ViewRead | undefined): Promise<void> {
  if (!o.view || !view || view.read.error !== undefined) return;
  const item = publishedItem(o, state, view.own);
  const content = ({ version: _v, publishedAt: _p, ...rest }: PublishedItem) => canonical(rest);
  // Unchanged, it is still written once a minute: the other Region's proof that this one is alive and that what
  // it reads of this Region is current (a Region with no history waits for that: PairState.watchingSince).
  const fresh = view.own && item.publishedAt - view.own.publishedAt < VIEW_HEARTBEAT_MS;
  if (view.own && fresh && content(view.own) === content(item)) return;
  try {
    await o.view.publish(o.config.pairId, item);
  } catch (error) {
    o.log.warn('pair view not written; the next event writes it again', { pairId: o.config.pairId, error: errorMessage(error) });
  }
}

/**
 * Keeps a break-glass failover until the table can record it: in this Region's item of the pair view (another
 * table, readable by the next invocation in any container), else in this container's memory. Returns where.
 */
export async function keepBreakGlass(o: Orchestrator, record: BreakGlassRecord): Promise<'pair view' | 'memory'> {
  o.pendingBreakGlass ??= [];
  o.pendingBreakGlass.push(record);
  if (!o.view) return 'memory';
  try {
    const { own } = await o.view.read(o.config.pairId);
    const base = own ?? { region: o.config.region ?? '', version: 0, publishedAt: o.clock.now() };
    // Published as this Region's newest promotion at once: the other Region must not escalate against it.
    const promotion = {
      region: o.config.region ?? '',
      operationId: record.id,
      mode: 'FAILOVER',
      trigger: `operator:${record.operator}`,
      origin: Origin.OPERATOR,
      // Until the table records it (and the core decides whether it was a fail-back): the safe side.
      reversal: Reversal.UNCERTAIN,
      startedAt: record.at,
      acceptedAt: record.at,
      breakGlass: true,
    } as const;
    await o.view.publish(o.config.pairId, {
      ...base,
      lastPromotion: promotion,
      breakGlass: [...(own?.breakGlass ?? []), record],
    });
    return 'pair view';
  } catch (error) {
    o.log.error('break-glass failover kept in memory only', { pairId: o.config.pairId, error: errorMessage(error) });
    return 'memory';
  }
}

/** A break-glass failover already sent with this idempotency key and not recorded yet, if any. */
export async function findBreakGlass(
  o: Orchestrator,
  key: string,
): Promise<{ record: BreakGlassRecord; keptIn: 'pair view' | 'memory' } | undefined> {
  // Where it really is: the pair view when it is there (any container reads it), else this container's memory.
  let inView: BreakGlassRecord | undefined;
  try {
    inView = o.view ? (await o.view.read(o.config.pairId)).own?.breakGlass?.find((r) => r.requestKey === key) : undefined;
  } catch {
    inView = undefined;
  }
  if (inView) return { record: inView, keptIn: 'pair view' };
  const inMemory = o.pendingBreakGlass?.find((r) => r.requestKey === key);
  return inMemory ? { record: inMemory, keptIn: 'memory' } : undefined;
}

/**
 * The lag series, read only for an event that may escalate a switchover or start a failover (the sweep runs
 * every minute; alarms and probes never fail over). A series that cannot be read is logged and left out: no
 * prediction, RPO unknown, the deadline still applies.
 */
async function readLag(
  o: Orchestrator,
  state: PairState,
  event: CoreEvent,
  now: number,
  observation: BrokerObservation,
): Promise<ReplicationPoint[] | undefined> {
  const op = state.operation;
  const switchover = op !== undefined && isInFlight(op) && op.mode === 'SWITCHOVER';
  const mayFailOver =
    (switchover && ['SWEEP', 'DEADLINE', 'OPERATOR', 'HOLD'].includes(event.type)) ||
    // A switchover completing now: its queue tells whether a FAILOVER from outside interrupted it.
    (switchover && observation.role === 'PRIMARY') ||
    (event.type === 'OPERATOR' && event.mode === 'FAILOVER');
  // A replica seen the primary with nothing of ours in flight: a promotion made outside, whose RPO is recorded.
  const promotedOutside = state.localRole?.role === 'REPLICA' && observation.role === 'PRIMARY' && !isInFlight(op);
  if (!o.lag || o.lag.brokers.length === 0 || !(mayFailOver || promotedOutside)) return undefined;
  const from = Math.min(now - LAG_LOOKBACK_MS, op?.startedAt ?? now);
  // The lag is optional to every decision: a Region that hangs costs one short timeout, not the budget.
  const signal = o.lag.timeoutMs === undefined ? undefined : AbortSignal.timeout(o.lag.timeoutMs);
  const series = await o.lag.metrics.series(o.lag.brokers, from, now + 1_000, LAG_PERIOD_SECONDS, signal);
  if (series.errors.length > 0) o.log.warn('replication lag not read', { pairId: o.config.pairId, errors: series.errors });
  return series.points.length > 0 ? series.points : undefined;
}

/** Runs a command; a Promote yields the event that records its result. */
async function run(o: Orchestrator, command: Command): Promise<CoreEvent | undefined> {
  const { pairId, localBrokerId } = o.config;
  switch (command.type) {
    case 'PROMOTE': {
      const base = { type: 'PROMOTE_RESULT', operationId: command.operationId, mode: command.mode } as const;
      try {
        await o.broker.promote(localBrokerId, command.mode);
        return { ...base, accepted: true, retryable: false };
      } catch (error) {
        const retryable = error instanceof BrokerApiError ? error.retryable : true;
        o.log.warn('Promote failed', { pairId, brokerId: localBrokerId, mode: command.mode, error: String(error) });
        return { ...base, accepted: false, retryable, error: errorMessage(error) };
      }
    }
    case 'SCHEDULE_DEADLINE':
      // A lost schedule is covered by the rate(1 minute) sweep, so a failure here is logged, not fatal.
      await attempt(o, 'scheduling the deadline failed; the sweep escalates instead', () =>
        o.scheduler.schedule(pairId, command.operationId, command.at),
      );
      return undefined;
    case 'CANCEL_DEADLINE':
      // A deadline that still fires is ignored by the core (the operation is no longer in flight).
      await attempt(o, 'cancelling the deadline failed; it will fire and be ignored', () =>
        o.scheduler.cancel(pairId, command.operationId),
      );
      return undefined;
    case 'NOTIFY':
      await attempt(o, 'notification failed', () => o.notifier.notify(command.notification));
      return undefined;
    case 'REDIRECT_CLIENTS': {
      const base = { type: 'REDIRECT_RESULT', operationId: command.operationId } as const;
      if (!o.redirector) return { ...base, ok: false, detail: 'no client redirector is configured' };
      try {
        return { ...base, ok: true, detail: await o.redirector.redirect(localBrokerId) };
      } catch (error) {
        o.log.warn('client redirection failed', { pairId, brokerId: localBrokerId, error: errorMessage(error) });
        return { ...base, ok: false, detail: errorMessage(error) };
      }
    }
  }
}

async function attempt(o: Orchestrator, failure: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    o.log.error(failure, { pairId: o.config.pairId, error: errorMessage(error) });
  }
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? callErrorMessage(error) : String(error));
