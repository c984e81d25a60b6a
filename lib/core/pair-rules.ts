/**
 * Pair rules: what the other Region's published outcomes (the pair view) allow this Region to do. Arming
 * (disarmed by a promotion or an unexplained demotion, re-armed by an operator), the pair-wide cooldown, and the
 * guard that keeps any Promote from reversing the pair's newer choice. See docs/decision-rules.md.
 */
import {
  Action,
  type BrokerObservation,
  Code,
  type DecisionContext,
  disarmsReversal,
  type Operation,
  OperationStatus,
  Origin,
  type PairState,
  type Promotion,
  type Refusal,
  Reversal,
  Role,
} from './model.ts';
import { isInFlight, iso, Step, seconds } from './step.ts';

/**
 * How far apart the two Regions' Lambda clocks may be when their timestamps are compared (an assumption:
 * Lambda's clocks are synchronized by Amazon Time Sync, and the model test skews them by up to ±30 s).
 */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * What keeps automatic promotion from this Region disarmed, and why, if anything: a demotion of the local broker
 * that the view does not explain yet (no promotion by the other Region newer than this Region's own: the view
 * lags, or that Region could not publish), under any policy; under the manual fail-back policy, the pair's
 * newest promotion when it was automatic and made by the other Region. A re-arm after it lifts either.
 */
export function disarmedBy(step: Step): (Refusal & { promotion?: Promotion }) | undefined {
  const { config } = step.ctx;
  const promotion = step.pair.newestPromotion;
  const demotedAt = step.state.demotedAt;
  if (demotedAt !== undefined && unexplainedDemotion(step)) {
    return {
      code: Code.UNEXPLAINED_DEMOTION,
      why: `the local broker was the primary and was seen a replica at ${iso(demotedAt)}, but the pair view shows no promotion by the other Region that explains it (the view lags, or that Region could not publish); automatic promotion waits until it does`,
    };
  }
  if (!promotion || promotion.region === (config.region ?? promotion.region) || !stillDisarms(step, promotion)) return undefined;
  const what = `${promotion.region}'s ${promotion.mode} ${promotion.operationId} (${promotion.trigger}, started ${iso(promotion.startedAt)})`;
  return {
    code: Code.FAILBACK_DISARMED,
    promotion,
    why: `automatic fail-back is disarmed: automatic triggers never reverse ${what} (FAILBACK_POLICY=manual)`,
  };
}

/**
 * Whether automatic promotion may start in this Region now, pair-wide, and if not why: the one answer the core
 * decides on, the operator API returns and the CLI prints (none of them derives it again).
 */
export function arming(
  state: PairState,
  ctx: Pick<DecisionContext, 'now' | 'config' | 'pair'>,
): { armed: true } | ({ armed: false; promotion?: Promotion } & Refusal) {
  const step = new Step(state, { type: 'SWEEP' }, { ...ctx, observation: UNOBSERVED, newOperationId: () => '' });
  const refusal = armingRefusal(step);
  return refusal ? { armed: false, ...refusal } : { armed: true };
}

/** What keeps automatic promotion from this Region disarmed: the view unreadable (it waits), or disarmedBy. */
function armingRefusal(step: Step): (Refusal & { promotion?: Promotion }) | undefined {
  const { viewError } = step.pair;
  if (viewError !== undefined) {
    return {
      code: Code.PAIR_VIEW_UNREADABLE,
      why: `the pair view cannot be read (${viewError}); automatic promotion needs the other Region's outcomes and waits (an operator can still promote)`,
    };
  }
  const since = step.state.watchingSince;
  const written = step.pair.peerPublishedAt;
  if (since !== undefined && !(written !== undefined && written > since + MAX_CLOCK_SKEW_MS)) {
    return {
      code: Code.VIEW_NOT_CONFIRMED,
      why: `this Region has no history of its broker's role (a new stack, or a lost table; watching since ${iso(since)}) and the pair view shows nothing the other Region wrote since then (${written === undefined ? 'no item of it at all' : `its item is of ${iso(written)}`}): the view may lag behind the promotion that made this broker the replica, so automatic promotion waits for the other Region's next write (each Region writes at least once a minute); an operator can still promote`,
    };
  }
  const disarmed = disarmedBy(step);
  return (
    disarmed && {
      ...disarmed,
      why: `${disarmed.why}; re-arm it (mqdr rearm) or fail back by hand (mqdr switchover, then reconcile)`,
    }
  );
}

/** No observation: `arming` reads the pair-wide facts only. */
const UNOBSERVED: BrokerObservation = { role: Role.UNKNOWN, brokerState: 'UNKNOWN', promotionPending: false };

/**
 * The local broker was demoted by a promotion the view does not show yet (it lags, or the other Region could not
 * publish): the other Region's newest promotion must be newer than this Region's own. A re-arm since lifts it.
 */
function unexplainedDemotion(step: Step): boolean {
  const { demotedAt, lastPromotion: own } = step.state;
  if (demotedAt === undefined) return false;
  const peer = step.pair.peerPromotion;
  const rearm = step.pair.newestRearm;
  const explained = peer !== undefined && (own === undefined || peer.startedAt > own.startedAt);
  return !explained && !(rearm && rearm.at >= demotedAt);
}

/** A promotion that disarmed its reversal and was not re-armed since (by either Region). */
function stillDisarms(step: Step, promotion: Promotion): boolean {
  const rearm = step.pair.newestRearm;
  return (
    (step.ctx.config.failbackPolicy ?? 'manual') === 'manual' &&
    disarmsReversal(promotion.reversal) &&
    !(rearm && rearm.at >= promotion.startedAt)
  );
}

/**
 * Whether this Region's new promotion disarms its reversal: always when automatic; for an operator's, unless it
 * reverses the other Region's promotion that still disarms (failing back by hand re-arms). When this Region cannot
 * know what it reversed (the view unreadable, or behind the local broker's demotion), it disarms and is marked
 * uncertain, so that its own reversal by hand is not taken for a fail-back either: guessing "fail-back" there
 * would let automatic triggers reverse an operator's promotion.
 */
function reversalOf(step: Step, op: Operation): Reversal {
  // An operator's promotion, through this orchestrator or outside it, may be a fail-back by hand.
  if (op.origin === Origin.AUTOMATIC) return Reversal.DISARMS;
  const { alone, viewError, peerPromotion: peer } = step.pair;
  if (alone) return Reversal.ALONE;
  if (viewError !== undefined || unexplainedDemotion(step)) return Reversal.UNCERTAIN;
  const failback =
    peer !== undefined &&
    peer.startedAt <= op.startedAt + MAX_CLOCK_SKEW_MS &&
    peer.reversal !== Reversal.UNCERTAIN &&
    stillDisarms(step, peer);
  return failback ? Reversal.FAILBACK : Reversal.DISARMS;
}

/**
 * Records the local broker's settled role when it changes (only with a pair view: a stack alone has nobody
 * to compare with). PRIMARY then REPLICA marks a demotion, which keeps automatic promotion waiting until the
 * view shows the promotion that caused it.
 */
export function trackRole(step: Step): 'unexplained promotion' | undefined {
  const { observation, now } = step.ctx;
  if (step.pair.alone || observation.promotionPending) return undefined;
  const role =
    observation.role === Role.PRIMARY && observation.brokerState === 'RUNNING'
      ? 'PRIMARY'
      : observation.role === Role.REPLICA
        ? 'REPLICA'
        : undefined;
  const before = step.state.localRole;
  if (role === 'PRIMARY' && before?.role === 'PRIMARY' && promotedBackUnseen(step)) {
    const peer = step.pair.peerPromotion as Promotion;
    step.state.localRole = { role, since: now };
    step.state.promotedBackAfter = peer.operationId;
    step.record(
      Action.ROLE_OBSERVED,
      `local broker is the PRIMARY, though ${peer.region}'s ${peer.mode} ${peer.operationId} completed at ${iso(peer.completedAt ?? now)} and made its broker the primary: it was promoted back while this Region did not see it a replica`,
    );
    return 'unexplained promotion';
  }
  if (!role || before?.role === role) return undefined;
  step.state.localRole = { role, since: now };
  // No history: a new stack, or a lost table, finding its broker a replica (see PairState.watchingSince).
  if (!before && role === 'REPLICA') step.state.watchingSince = now;
  if (role === 'PRIMARY') {
    // Seen the primary: from now on its demotions are its own history.
    delete step.state.demotedAt;
    delete step.state.watchingSince;
    delete step.state.viewWaitNotified;
  } else if (before?.role === 'PRIMARY') step.state.demotedAt = now;
  // A completion recorded in this step already says the broker became the primary.
  if (step.decisions.some((d) => d.action === Action.COMPLETE)) return undefined;
  step.record(
    Action.ROLE_OBSERVED,
    `local broker is ${role === 'PRIMARY' ? 'the PRIMARY' : 'a REPLICA'}${before ? ` (was ${before.role} since ${iso(before.since)}${role === 'REPLICA' ? ': the other Region promoted its broker' : ''})` : ''}`,
  );
  // A replica that became the primary with no operation of this Region completing: someone else promoted it.
  return role === 'PRIMARY' && before?.role === 'REPLICA' ? 'unexplained promotion' : undefined;
}

/**
 * The local broker is the primary, and the pair's newest promotion is the other Region's, completed (its broker was
 * the primary then), with no operation of this Region in flight or completing now: the local broker was promoted
 * back after it, by someone this Region did not see (it never observed its broker a replica in between).
 */
function promotedBackUnseen(step: Step): boolean {
  const peer = step.pair.peerPromotion;
  const own = step.state.lastPromotion;
  if (peer?.completedAt === undefined || step.pair.newestPromotion !== peer || (own && own.startedAt >= peer.startedAt)) {
    return false;
  }
  // Once per promotion of the other Region: this Region's own record of it is stamped by a clock that may be
  // behind the other's, so the stamps alone would find it "newer" again and again.
  if (step.state.promotedBackAfter === peer.operationId) return false;
  const op = step.op;
  return !(op && isInFlight(op)) && !step.decisions.some((d) => d.action === Action.COMPLETE);
}

/** Why an automatic trigger may not start an operation, pair-wide: the fail-back policy and the cooldown. */
export function pairRefusal(step: Step): Refusal | undefined {
  const { now, config } = step.ctx;
  const disarmed = armingRefusal(step);
  if (disarmed) return { code: disarmed.code, why: disarmed.why };
  const op = step.op;
  // From either Region's newest promotion as soon as it took hold (accepted, or completed): one still under way
  // counts, as it completes any moment.
  const completions: Array<{ at: number; what: string }> = [
    ...(op?.status === OperationStatus.COMPLETED && op.completedAt !== undefined ? [{ at: op.completedAt, what: op.id }] : []),
    ...[step.state.lastPromotion, step.pair.peerPromotion].flatMap((p) => {
      const at = p && tookHoldAt(p);
      return p && at !== undefined ? [{ at, what: `${p.operationId} in ${p.region}` }] : [];
    }),
  ];
  const last = completions.sort((a, b) => b.at - a.at)[0];
  if (last && now < last.at + config.cooldownMs) {
    return {
      code: Code.COOLDOWN,
      why: `pair-wide cooldown after ${last.what} for another ${seconds(last.at + config.cooldownMs - now)}`,
    };
  }
  return undefined;
}

/**
 * When a promotion last took hold: its last accepted Promote (an escalation's, say) or its completion; undefined
 * while it has done neither (its Promote may still be refused).
 */
const tookHoldAt = (p: Promotion): number | undefined =>
  p.acceptedAt === undefined && p.completedAt === undefined
    ? undefined
    : Math.max(p.acceptedAt ?? Number.NEGATIVE_INFINITY, p.completedAt ?? Number.NEGATIVE_INFINITY);

/** This Region's promotion as the pair view shows it. */
export function promotionOf(step: Step, op: Operation, extra: Partial<Promotion>): Promotion {
  const previous = step.state.lastPromotion?.operationId === op.id ? step.state.lastPromotion : undefined;
  return {
    ...previous,
    region: step.ctx.config.region ?? 'local',
    operationId: op.id,
    mode: op.mode,
    trigger: op.trigger,
    origin: op.origin,
    // Decided once, when the promotion is first recorded: what it reversed then.
    reversal: previous ? previous.reversal : reversalOf(step, op),
    startedAt: op.startedAt,
    ...(op.breakGlass ? { breakGlass: true } : {}),
    ...extra,
  };
}

/**
 * The guard every Promote of an operation already under way passes (a re-send after a lost answer, an automatic
 * escalation): none goes out while the pair view cannot be read, or once it shows the other Region's promotion
 * started since this operation started, within the clock allowance either way. Such a Promote could reverse the
 * pair's newer choice: an operator failed over here, Amazon MQ acted but its answer was lost, the operator moved
 * the primary back, and the re-sent FAILOVER undid it. Then the operation ends SUPERSEDED (when the local broker
 * is a replica with nothing pending and the peer's promotion took hold) or waits. Records why and returns true when the Promote must not be sent.
 * A stack alone (no pair view) has nothing to compare with.
 */
export function newerChoiceBlocks(step: Step, op: Operation, what: string): boolean {
  const { observation } = step.ctx;
  const { alone, viewError, peerPromotion: peer } = step.pair;
  if (alone) return false;
  if (viewError !== undefined) {
    // Whether the other Region promoted since this operation started is unknown: never promote blind.
    step.wait(
      Code.PAIR_VIEW_UNREADABLE,
      `${what}, but the pair view cannot be read (${viewError}); Promote not sent, the sweep tries again`,
    );
    return true;
  }
  if (!peer || peer.operationId === op.id || peer.startedAt <= op.startedAt - MAX_CLOCK_SKEW_MS) return false;
  const since = `${peer.region} promoted its broker (${peer.mode} ${peer.operationId}, ${peer.trigger}, started ${iso(peer.startedAt)}) since this ${op.mode} started at ${iso(op.startedAt)} (within the ${seconds(MAX_CLOCK_SKEW_MS)} clock allowance)`;
  // Ended only once the peer's promotion took hold (its Promote may still be refused) and nothing is pending here.
  if (observation.role !== Role.REPLICA || observation.promotionPending || tookHoldAt(peer) === undefined) {
    step.wait(Code.NEWER_CHOICE, `${what}, but ${since}; Promote not sent`);
    return true;
  }
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.SUPERSEDED;
  op.endedAt = step.ctx.now;
  const reason = `${since}, and the local broker is a replica with no promotion pending; ${what} not sent: it could reverse the pair's newer choice`;
  step.record(Action.SUPERSEDE, reason);
  step.notify(`${op.mode} superseded`, reason);
  return true;
}

/**
 * Ends an operation in flight that the other Region's promotion made moot: the local broker is a replica with
 * nothing pending, and the peer's view shows a promotion that took hold (accepted or completed) after this
 * operation started (within the clock skew allowance). Escalating it would promote against the pair's newer
 * choice.
 */
export function supersedeIfMoot(step: Step, op: Operation): void {
  const { observation } = step.ctx;
  const peer = step.pair.peerPromotion;
  if (observation.role !== Role.REPLICA || observation.promotionPending || !peer) return;
  const tookHold = tookHoldAt(peer);
  if (tookHold === undefined) return;
  // Amazon MQ accepted this operation's Promote and it is gone: a peer promotion stamped up to the skew before
  // the operation started may still have come after it. One not accepted yet (its Promote may be in flight
  // right now) is moot only if the peer promoted certainly after it started.
  const accepted = op.status === OperationStatus.SWITCHOVER_IN_PROGRESS || op.status === OperationStatus.FAILOVER_IN_PROGRESS;
  if (tookHold <= op.startedAt + (accepted ? -MAX_CLOCK_SKEW_MS : MAX_CLOCK_SKEW_MS)) return;
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.SUPERSEDED;
  op.endedAt = step.ctx.now;
  const reason = `${peer.region} promoted its broker (${peer.mode} ${peer.operationId}, ${peer.trigger}) at ${iso(tookHold)}, after this ${op.mode} started, and the local broker is a replica with no promotion pending; never escalated`;
  step.record(Action.SUPERSEDE, reason);
  step.notify(`${op.mode} superseded`, reason);
}
