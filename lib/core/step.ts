/**
 * One decision step: the state being changed, the decisions recorded and the commands emitted for one event,
 * with the small predicates every module of the core shares.
 */
import {
  Action,
  type BrokerObservation,
  type Code,
  type CodedAction,
  type Command,
  type CoreEvent,
  type Decision,
  type DecisionContext,
  type EscalationHold,
  IN_FLIGHT,
  MAX_REMEMBERED_REQUESTS,
  Mode,
  type Operation,
  OperationStatus,
  type OperatorRequest,
  type PairState,
  type PairViewRead,
  type Promotion,
  type Rearm,
  type RequestKind,
  Role,
} from './model.ts';

export const isInFlight = (op: Operation | undefined): boolean => op !== undefined && IN_FLIGHT.has(op.status);

/** Promote was requested but its acceptance is not recorded yet. */
export const isRequested = (op: Operation): boolean =>
  op.status === OperationStatus.SWITCHOVER_REQUESTED || op.status === OperationStatus.FAILOVER_REQUESTED;

/** How long ago a switchover in flight passed its deadline; undefined if it has not. */
export const overdueBy = (op: Operation, now: number): number | undefined =>
  isInFlight(op) && op.mode === Mode.SWITCHOVER && op.deadlineAt !== undefined && now >= op.deadlineAt
    ? now - op.deadlineAt
    : undefined;

/** The local broker has finished becoming the primary: completion is observed, never assumed. */
export const isPromoted = (o: BrokerObservation): boolean =>
  o.role === Role.PRIMARY && o.brokerState === 'RUNNING' && !o.promotionPending;

export const describeEvent = (event: CoreEvent): string => {
  switch (event.type) {
    case 'ALARM':
      return `alarm ${event.alarmName} ${event.previousState ?? '?'}→${event.state}`;
    case 'PROBE':
      return `probe ${event.refused ? 'refused' : event.outage ? 'unreachable' : event.healthy ? 'healthy' : 'unhealthy'}: ${event.detail}`;
    case 'DEADLINE':
      return `deadline of ${event.operationId}`;
    case 'SWEEP':
      return 'sweep';
    case 'WATCH':
      return 'watch';
    case 'OPERATOR':
      return `operator ${event.operator} asks ${event.mode}${event.dryRun ? ' (dry run)' : ''}`;
    case 'HOLD':
      return `operator ${event.operator} ${event.hold ? 'holds' : 'releases'} automatic escalation`;
    case 'REARM':
      return `operator ${event.operator} re-arms automatic promotion`;
    case 'ABANDON':
      return `operator ${event.operator} abandons the operation`;
    case 'BREAK_GLASS':
      return `break-glass failover by ${event.record.operator} at ${iso(event.record.at)}`;
    case 'PROMOTE_RESULT':
      return `Promote ${event.mode} ${event.accepted ? 'accepted' : `rejected (${event.error ?? 'no reason'})`}`;
    case 'REDIRECT_RESULT':
      return `client redirection ${event.ok ? 'done' : 'failed'}`;
    case 'READINESS':
      return `readiness: ${event.failing.length === 0 ? 'every check passes' : `${event.failing.map((f) => f.id).join(', ')} failing`}`;
  }
};

export const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

/** This Region's or the other's, whichever is newer by `at` (this Region's on a tie); either may be missing. */
export const newerOf = <T>(own: T | undefined, peer: T | undefined, at: (x: T) => number): T | undefined =>
  own === undefined ? peer : peer === undefined || at(own) >= at(peer) ? own : peer;

/**
 * The pair-wide facts of one decision: this Region's own (its record) and the other Region's (the pair view),
 * merged in one place. The step keeps them current when it records a promotion or a re-arm of its own.
 */
export interface PairFacts {
  /** No pair view: this stack decides alone, with nobody to compare with. */
  alone: boolean;
  /** The pair view could not be read: what the other Region did is unknown. */
  viewError?: string;
  /** The other Region's newest promotion, as the view shows it. */
  peerPromotion?: Promotion;
  /** The pair's newest promotion, by either Region. */
  newestPromotion?: Promotion;
  /** The newest re-arm of automatic promotion, through either Region. */
  newestRearm?: Rearm;
  /** When the other Region last wrote its item (its clock); undefined when it has written none. */
  peerPublishedAt?: number;
}

const pairFactsOf = (state: PairState, pair: PairViewRead | undefined): PairFacts => {
  const peer = pair?.peer ?? undefined;
  return {
    alone: pair === undefined,
    ...(pair?.error !== undefined ? { viewError: pair.error } : {}),
    ...(peer?.lastPromotion ? { peerPromotion: peer.lastPromotion } : {}),
    ...(peer ? { peerPublishedAt: peer.publishedAt } : {}),
    newestPromotion: newerOf(state.lastPromotion, peer?.lastPromotion, (p) => p.startedAt),
    newestRearm: newerOf(state.rearm, peer?.rearm, (r) => r.at),
  };
};

/** Collects the outcome of one event; the helpers below read and change it. */
export class Step {
  readonly state: PairState;
  readonly decisions: Decision[] = [];
  readonly commands: Command[] = [];
  private readonly eventText: string;
  /** The pair-wide facts (own and peer merged), current with what this step recorded. */
  pair: PairFacts;

  constructor(
    prev: PairState,
    readonly event: CoreEvent,
    readonly ctx: DecisionContext,
  ) {
    this.state = structuredClone(prev);
    this.eventText = describeEvent(event);
    this.pair = pairFactsOf(this.state, ctx.pair);
  }

  /** Records this Region's promotion as the pair view will show it. */
  recordPromotion(promotion: Promotion): void {
    this.state.lastPromotion = promotion;
    this.pair = pairFactsOf(this.state, this.ctx.pair);
  }

  /** Records a re-arm made through this Region. */
  recordRearm(rearm: Rearm): void {
    this.state.rearm = rearm;
    this.pair = pairFactsOf(this.state, this.ctx.pair);
  }

  get op(): Operation | undefined {
    return this.state.operation;
  }

  /** Records a decision; REFUSE, WAIT and IGNORE go through refuse(), wait() and ignore(), which carry a code. */
  record(action: Exclude<Action, CodedAction>, reason: string, extra: Partial<Decision> = {}): void {
    this.push(action, reason, extra);
  }

  refuse(code: Code, reason: string): void {
    this.push(Action.REFUSE, reason, { code });
  }

  wait(code: Code, reason: string): void {
    this.push(Action.WAIT, reason, { code });
  }

  ignore(code: Code, reason: string): void {
    this.push(Action.IGNORE, reason, { code });
  }

  private push(action: Action, reason: string, extra: Partial<Decision>): void {
    const op = this.state.operation;
    const { event } = this;
    const requester = isOperatorRequest(event)
      ? event
      : event.type === 'BREAK_GLASS'
        ? { operator: event.record.operator, requestKey: event.record.requestKey }
        : undefined;
    this.decisions.push({
      at: this.ctx.now,
      event: this.eventText,
      action,
      reason,
      status: op?.status ?? OperationStatus.IDLE,
      ...(op ? { operationId: op.id } : {}),
      ...(requester ? { operator: requester.operator } : {}),
      ...(requester?.requestKey ? { requestKey: requester.requestKey } : {}),
      ...extra,
    });
  }

  /** Notifies about the decision recorded last. */
  notify(subject: string, message: string): void {
    const last = this.decisions.at(-1);
    if (!last) throw new Error('notify() follows record()');
    this.commands.push({
      type: 'NOTIFY',
      notification: {
        pairId: this.ctx.config.pairId,
        subject: `[${this.ctx.config.pairId}] ${subject}`,
        message,
        action: last.action,
        status: last.status,
        at: last.at,
        ...(last.operationId ? { operationId: last.operationId } : {}),
      },
    });
  }

  cancelDeadlineIfPending(op: Operation): void {
    if (op.deadlineAt !== undefined && this.ctx.now < op.deadlineAt) {
      this.commands.push({ type: 'CANCEL_DEADLINE', operationId: op.id });
    }
  }
}

/** The request an idempotency key was first used for, if the pair still remembers it. */
export const findRequest = (state: PairState, key: string | undefined): OperatorRequest | undefined =>
  key === undefined ? undefined : state.requests?.find((r) => r.key === key);

export const isOperatorRequest = (
  event: CoreEvent,
): event is Extract<CoreEvent, { type: 'OPERATOR' | 'HOLD' | 'REARM' | 'ABANDON' }> =>
  event.type === 'OPERATOR' || event.type === 'HOLD' || event.type === 'REARM' || event.type === 'ABANDON';

export function rememberRequest(step: Step, key: string | undefined, kind: RequestKind, dryRun: boolean, digest?: string): void {
  const last = step.decisions.at(-1);
  if (key === undefined || !last) return;
  const request: OperatorRequest = {
    key,
    kind,
    dryRun,
    at: step.ctx.now,
    action: last.action,
    ...(last.operationId ? { operationId: last.operationId } : {}),
    ...(digest ? { digest } : {}),
  };
  step.state.requests = [...(step.state.requests ?? []), request].slice(-MAX_REMEMBERED_REQUESTS);
}

export const iso = (t: number): string => new Date(t).toISOString();

/**
 * What holds automatic escalation of `op`, if anything: an operator's hold on the pair, or the operator who
 * started this switchover with escalation held (`--no-escalate`), for this operation only.
 */
export function holdOf(step: Step, op: Operation): EscalationHold | undefined {
  return step.state.escalationHold ?? op.escalationHeldBy;
}
