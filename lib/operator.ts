/**
 * What an operator can see and do, over the orchestrator core: the pair's view (roles, broker states,
 * replication lag, the operation and its timeline, the deadline), and requests that run through the same
 * `handleEvent` as the automatic triggers, so the core's guards apply to people too.
 *
 * Every request carries an idempotency key (the caller's, or a fresh one): the core remembers what the key
 * led to, so a retried request is answered from its first outcome and never starts a second operation.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as v from 'valibot';
import { currentBudget } from './budget.ts';
import { int } from './config.ts';
import { arming, findRequest, isInFlight, isPromoted, milestonesOf, newerOf, recoveryOf } from './core/decide.ts';
import {
  Action,
  type BreakGlassRecord,
  type BrokerObservation,
  type Code,
  type CoreEvent,
  type Decision,
  type EscalationHold,
  type Operation,
  type OperatorRequest,
  type PairState,
  type PairViewRead,
  type Promotion,
  type Rearm,
  type RequestKind,
  type RpoEstimate,
} from './core/model.ts';
import { rpoNow } from './core/rpo.ts';
import { InvalidEventError, issuesOf, StoreError } from './errors.ts';
import { errorMessage, findBreakGlass, handleEvent, keepBreakGlass, newOperationId, type Orchestrator } from './orchestrator.ts';
import type { ReplicationSeries } from './ports.ts';
import type { Runtime } from './runtime.ts';

const reason = v.pipe(v.string(), v.trim(), v.minLength(3, 'say why, in at least 3 characters'), v.maxLength(500));
const flag = (fallback: boolean) => v.optional(v.boolean(), fallback);
const reasonOnly = () => v.strictObject({ reason });

export const RequestBodies = {
  /** `escalate: false`: the switchover never escalates to a failover by itself (`mqdr switchover --no-escalate`). */
  SWITCHOVER: v.strictObject({ reason, dryRun: flag(false), escalate: flag(true) }),
  FAILOVER: v.strictObject({ reason, confirm: v.pipe(v.string(), v.maxLength(100)), dryRun: flag(false) }),
  HOLD: reasonOnly(),
  RELEASE: reasonOnly(),
  REARM: reasonOnly(),
  ABANDON: reasonOnly(),
} as const;

export const IdempotencyKey = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.:-]{8,64}$/, '8 to 64 letters, digits, or _ . : -; a UUID fits'),
);

export const ViewQuery = v.strictObject({ lagMinutes: int(5, 1440, 60) });

/** The decisions the pair view carries: the newest ones, read with a bounded query, whatever the history. */
export const VIEW_TIMELINE_LIMIT = 20;

/** `cursor` is where the previous page ended, as the API gave it (base64url of the entry's sort key). */
export const TimelineQuery = v.strictObject({
  limit: int(1, 1_000, 100),
  cursor: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(200),
      v.transform((c) => Buffer.from(c, 'base64url').toString('utf8')),
      v.check((sk) => /^TL#\d{12}#\d{3}$/.test(sk), 'not a cursor this API gave out; start again without one'),
    ),
  ),
});

export const encodeCursor = (sk: string): string => Buffer.from(sk, 'utf8').toString('base64url');

/** The caller asked for something the pair's rules forbid as asked (wrong confirmation, key reuse). */
export class RequestRejectedError extends InvalidEventError {
  override name: string = 'RequestRejectedError';
}

export interface BrokerView extends BrokerObservation {
  brokerId: string;
  region: string;
}

export interface PairView {
  pairId: string;
  now: number;
  version: number;
  local: BrokerView;
  remote: BrokerView;
  /**
   * The CRDR metrics of both brokers (QueueSize in events, TotalReplicationLag in seconds), and what a failover
   * now would leave behind, from the primary's own datapoint (RpoEstimate: unknown when stale or missing).
   */
  replication: { failoverNow: RpoEstimate } & ReplicationSeries;
  /** The operation, with its recovery time (`recoveryOf` in the core: from the first evidence and from its start). */
  operation:
    | (Operation & {
        inFlight: boolean;
        deadlineInMs?: number;
        recovery?: { evidenceMs: number; recoveryMs: number };
        /** Detected, decided, Promote accepted, primary running, clients redirected: when, and after the evidence. */
        milestones: ReturnType<typeof milestonesOf>;
      })
    | null;
  escalationHold: EscalationHold | null;
  /**
   * Pair-wide, from the pair view: the pair's newest promotion by either Region and the newest re-arm (an
   * automatic promotion not re-armed since keeps automatic fail-back disarmed), or why the view was not read.
   */
  pairWide: {
    newestPromotion: Promotion | null;
    rearm: Rearm | null;
    viewError?: string;
    /** Whether automatic promotion may start in this Region, as the core decides it (`arming` in the core). */
    arming: { armed: true } | { armed: false; code: Code; why: string };
  } | null;
  /** The decisions since the current (or last) operation started; the last 20 when there was none. */
  timeline: Decision[];
}

async function pairWideOf(rt: Runtime, state: PairState, now: number): Promise<PairView['pairWide']> {
  const view = rt.orchestrator.view;
  if (!view) return null;
  const armingOf = (pair: PairViewRead) => {
    const a = arming(state, { now, config: rt.config, pair });
    return a.armed ? { armed: true as const } : { armed: false as const, code: a.code, why: a.why };
  };
  try {
    const { peer } = await view.read(rt.config.pairId);
    return {
      newestPromotion: newerOf(state.lastPromotion, peer?.lastPromotion, (p) => p.startedAt) ?? null,
      rearm: newerOf(state.rearm, peer?.rearm, (r) => r.at) ?? null,
      arming: armingOf({ peer: peer ?? null }),
    };
  } catch (error) {
    return {
      newestPromotion: state.lastPromotion ?? null,
      rearm: state.rearm ?? null,
      viewError: errorMessage(error),
      arming: armingOf({ error: errorMessage(error) }),
    };
  }
}

const LAG_PERIOD_SECONDS = 60;

/** Both brokers whose CRDR metrics to read, by the names DescribeBroker gave (one that was not described is left out). */
export const lagBrokersOf = (
  config: Runtime['config'],
  local: BrokerObservation,
  remote: BrokerObservation,
): Array<{ region: string; brokerName: string; local: boolean }> =>
  [
    { region: config.region, brokerName: local.brokerName, local: true },
    { region: config.remoteRegion, brokerName: remote.brokerName, local: false },
  ].flatMap((b) => (b.brokerName ? [{ region: b.region, brokerName: b.brokerName, local: b.local }] : []));

/**
 * The operator's view of the pair. Its timeline is the newest VIEW_TIMELINE_LIMIT decisions (since the operation
 * started, if one did), read newest first with a bounded query: what the view reads stays flat however long the
 * history (`/timeline` pages through all of it). `withTimeline: false` skips it for a one-line summary.
 */
export async function pairView(rt: Runtime, lagMinutes: number, { withTimeline = true } = {}): Promise<PairView> {
  const { config, orchestrator } = rt;
  const now = orchestrator.clock.now();
  const [stored, local, remote] = await Promise.all([
    orchestrator.store.load(config.pairId),
    orchestrator.broker.observe(config.localBrokerId),
    rt.remoteBroker.observe(config.remoteBrokerId),
  ]);
  const newest = withTimeline
    ? await orchestrator.store.timelinePage(config.pairId, { limit: VIEW_TIMELINE_LIMIT, newestFirst: true }, stored)
    : { decisions: [] };
  const timeline = newest.decisions.reverse();
  const brokers = lagBrokersOf(config, local, remote);
  // EndTime is exclusive: a second past now includes a datapoint stamped now.
  const lag = await rt.lagMetrics.series(brokers, now - lagMinutes * 60_000, now + 1_000, LAG_PERIOD_SECONDS);
  if (brokers.length < 2) lag.errors.push("a broker could not be described, so its Region's metrics were not read");
  const { state } = stored;
  const op = state.operation;
  return {
    pairId: config.pairId,
    now,
    version: state.version,
    local: { brokerId: config.localBrokerId, region: config.region, ...local },
    remote: { brokerId: config.remoteBrokerId, region: config.remoteRegion, ...remote },
    replication: { failoverNow: rpoNow(lag.points, now, local.role === 'PRIMARY'), ...lag },
    operation: op
      ? {
          ...op,
          inFlight: isInFlight(op),
          ...(recoveryOf(op) ? { recovery: recoveryOf(op) } : {}),
          milestones: milestonesOf(op),
          ...(isInFlight(op) && op.deadlineAt !== undefined && op.mode === 'SWITCHOVER'
            ? { deadlineInMs: op.deadlineAt - now }
            : {}),
        }
      : null,
    escalationHold: state.escalationHold ?? null,
    pairWide: await pairWideOf(rt, state, now),
    timeline: op ? timeline.filter((d) => d.at >= op.startedAt) : timeline,
  };
}

export interface RequestOutcome {
  request: OperatorRequest;
  /** True when the key was handled before: nothing was decided now. */
  replayed: boolean;
  /** Every decision this call recorded (none on a replay), including the Promote's result. */
  decisions: Decision[];
  /**
   * A confirmed failover sent while the table could not be read or written: where it is kept until the table
   * records it (marked break glass in the timeline), and what the table said.
   */
  breakGlass?: { keptIn: 'pair view' | 'memory'; storeError: string };
}

/**
 * Validates `body` for `kind`, then runs the request through the core. Throws InvalidEventError for a body
 * that does not validate, RequestRejectedError for a failover not confirmed with the pair's id or a key
 * already used for a different request.
 */
export async function operatorRequest(
  rt: Runtime,
  kind: RequestKind,
  body: unknown,
  operator: string,
  key: string = randomUUID(),
): Promise<RequestOutcome> {
  const { pairId } = rt.config;
  const parsed = v.safeParse(RequestBodies[kind], body ?? {});
  if (!parsed.success) {
    throw new InvalidEventError(`invalid ${kind.toLowerCase()} request`, issuesOf(parsed.issues, 'body'));
  }
  const input = parsed.output;
  const dryRun = 'dryRun' in input && input.dryRun === true;
  if ('confirm' in input && input.confirm !== pairId) {
    throw new RequestRejectedError(
      `a failover may leave unreplicated messages on the old primary: confirm it by setting "confirm" to the pair's id "${pairId}"`,
    );
  }
  // The key's request is what its body says: the kind and the validated body, digested.
  const digest = createHash('sha256')
    .update(JSON.stringify([kind, input]))
    .digest('base64url')
    .slice(0, 22);
  const event: CoreEvent =
    kind === 'HOLD' || kind === 'RELEASE'
      ? { type: 'HOLD', hold: kind === 'HOLD', reason: input.reason, operator, requestKey: key, requestDigest: digest }
      : kind === 'REARM' || kind === 'ABANDON'
        ? { type: kind, reason: input.reason, operator, requestKey: key, requestDigest: digest }
        : {
            type: 'OPERATOR',
            mode: kind,
            reason: input.reason,
            operator,
            requestKey: key,
            dryRun,
            requestDigest: digest,
            ...('escalate' in input && input.escalate === false ? { holdEscalation: true } : {}),
          };
  /** Another request holds the key: the one recorded under it (by a conditional write, so exactly one). */
  const other = (r: OperatorRequest | undefined): r is OperatorRequest =>
    r !== undefined && (r.kind !== kind || r.dryRun !== dryRun || (r.digest !== undefined && r.digest !== digest));
  const rejectFor = (r: OperatorRequest) =>
    new RequestRejectedError(
      `idempotency key ${key} was used for another request (a ${r.dryRun ? 'dry-run ' : ''}${r.kind} with another body); send a new key for a different request`,
    );

  if (kind === 'FAILOVER' && !dryRun) {
    const kept = await findBreakGlass(rt.orchestrator, key);
    if (kept) return breakGlassOutcome(kept.record, true, { keptIn: kept.keptIn, storeError: 'answered from the first request' });
  }
  // Whether this request sent a Promote before the table failed: a confirmed failover then goes through anyway.
  let promoted = false;
  const o: Orchestrator = {
    ...rt.orchestrator,
    broker: {
      observe: (id) => rt.orchestrator.broker.observe(id),
      promote: (id, mode) => {
        promoted = true;
        return rt.orchestrator.broker.promote(id, mode);
      },
    },
  };
  try {
    const before = findRequest((await o.store.load(pairId)).state, key);
    if (other(before)) throw rejectFor(before);
    const decisions = await handleEvent(o, event);
    const request = findRequest((await o.store.load(pairId)).state, key);
    // A request sent at the same moment with the same key and another body may have been recorded first: then
    // this one decided nothing (a replay of that one), and is refused rather than answered with the other's outcome.
    if (other(request)) throw rejectFor(request);
    if (!request) {
      // Only when 50 newer keyed requests landed in between: the decisions still say what happened.
      const first = decisions.find((d) => d.requestKey === key && d.action !== Action.COMPLETE);
      return {
        request: { key, kind, dryRun, at: first?.at ?? 0, action: first?.action ?? Action.IGNORE },
        replayed: false,
        decisions,
      };
    }
    return { request, replayed: before !== undefined, decisions };
  } catch (error) {
    // Break glass keeps its record in the pair view until the table takes it: a stack without one (one Region
    // alone) answers the table's error instead.
    if (kind !== 'FAILOVER' || dryRun || !(error instanceof StoreError) || !rt.orchestrator.view) throw error;
    return breakGlass(rt, { reason: input.reason, operator, key, promoted }, error);
  }
}

/**
 * Break glass: a confirmed operator failover while the table cannot be read or written. DescribeBroker must
 * show the local broker a replica with nothing pending; then Promote FAILOVER, an SNS message, and the record
 * kept (pair view, else memory) until the table answers and the next invocation writes it to the timeline.
 * If this request's Promote was already sent before the table failed, it is not sent twice.
 */
async function breakGlass(
  rt: Runtime,
  request: { reason: string; operator: string; key: string; promoted: boolean },
  storeError: StoreError,
): Promise<RequestOutcome> {
  const o = rt.orchestrator;
  const { pairId, localBrokerId } = rt.config;
  if (!request.promoted) {
    const local = await o.broker.observe(localBrokerId);
    if (local.role !== 'REPLICA' || local.promotionPending) {
      throw new RequestRejectedError(
        `the orchestrator's table cannot be read or written (${storeError.message}), and break glass refuses: the local broker is ${local.role} (${local.brokerState})${local.promotionPending ? ' with a promotion under way' : ''}; only a replica with nothing pending is promoted`,
      );
    }
    await o.broker.promote(localBrokerId, 'FAILOVER');
  }
  const at = o.clock.now();
  const promotedAt = await watchTakeover(o, localBrokerId);
  const record: BreakGlassRecord = {
    id: newOperationId(at),
    operator: request.operator,
    reason: request.reason,
    requestKey: request.key,
    at,
    ...(promotedAt !== undefined ? { promotedAt } : {}),
  };
  const keptIn = await keepBreakGlass(o, record);
  const outcome = breakGlassOutcome(record, false, { keptIn, storeError: storeError.message });
  const message = `${outcome.decisions[0]?.reason ?? ''}. The table said: ${storeError.message}`;
  try {
    await o.notifier.notify({
      pairId,
      subject: `[${pairId}] break-glass FAILOVER sent`,
      message,
      action: Action.START_FAILOVER,
      status: 'FAILOVER_IN_PROGRESS',
      operationId: record.id,
      at,
    });
  } catch (error) {
    o.log.error('break-glass notification failed', { pairId, error: errorMessage(error) });
  }
  return outcome;
}

/**
 * When the local broker is seen the running primary after a break-glass Promote: DescribeBroker every watch interval
 * for the watch window, within the request's budget (its reserve kept for the answer). Undefined when it is not
 * seen in that time (or cannot be seen): the recovery time is then unknown, never the time the table came back.
 */
async function watchTakeover(o: Orchestrator, brokerId: string): Promise<number | undefined> {
  const watch = o.config.watch;
  if (!watch) return undefined;
  const until = o.clock.now() + watch.windowMs;
  for (;;) {
    const seen = await o.broker.observe(brokerId).catch(() => undefined);
    if (seen && isPromoted(seen)) return o.clock.now();
    const budget = currentBudget();
    if (o.clock.now() + watch.intervalMs > until || (budget && budget.remaining() < watch.reserveMs + watch.intervalMs)) {
      return undefined;
    }
    await o.clock.sleep(watch.intervalMs);
  }
}

function breakGlassOutcome(
  record: BreakGlassRecord,
  replayed: boolean,
  breakGlass: NonNullable<RequestOutcome['breakGlass']>,
): RequestOutcome {
  const reason = `break glass: Promote FAILOVER accepted at ${new Date(record.at).toISOString()} while the orchestrator's table could not be written; kept in the ${breakGlass.keptIn} and recorded in the timeline, marked break glass, once the table answers${breakGlass.keptIn === 'memory' ? ' (this container only: if the table stays down, note it by hand)' : ''}`;
  const decision: Decision = {
    at: record.at,
    event: `operator ${record.operator} asks FAILOVER (break glass)`,
    action: Action.START_FAILOVER,
    reason,
    operationId: record.id,
    status: 'FAILOVER_IN_PROGRESS',
    operator: record.operator,
    requestKey: record.requestKey,
    breakGlass: true,
  };
  return {
    request: {
      key: record.requestKey,
      kind: 'FAILOVER',
      dryRun: false,
      at: record.at,
      action: Action.START_FAILOVER,
      operationId: record.id,
    },
    replayed,
    decisions: replayed ? [] : [decision],
    breakGlass,
  };
}
