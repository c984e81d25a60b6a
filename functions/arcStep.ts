/**
 * The promote step of an ARC Region switch plan: a custom action Lambda execution block with regionToRun
 * activatingRegion, so it runs in the Region being activated and makes that Region's broker the primary.
 *
 * ARC counts a step done when an invocation returns, and runs it again after the block's retry interval when
 * it fails, until the block's timeout. So each invocation looks once and returns or throws:
 *  - local broker a replica, nothing under way: start a switchover (ARC_STEP_MODE) as an operator would, then
 *    throw StepInProgressError;
 *  - an operation under way: run the sweep (records completion, escalates a switchover past its deadline),
 *    then return if it completed, else throw StepInProgressError;
 *  - local broker the running primary: return what happened (idempotent: later runs return the same).
 * A broker that cannot be observed, or shows a promotion no operation records, throws StepInProgressError (it
 * waits); an operation the orchestrator refused or that failed (dry run, Promote rejected for good) throws
 * StepRefusedError with the reason.
 */
import type { RpoEstimate } from '#lib/core/model.ts';
import { regionSwitchStatus } from '#lib/core/region-switch.ts';
import { StepInProgressError, StepRefusedError } from '#lib/errors.ts';
import { parseRegionSwitchEvent } from '#lib/events.ts';
import { handleEvent } from '#lib/orchestrator.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, type HandlerResult, logger, makeHandler, metrics } from './shared.ts';

export interface RegionSwitchStepResult extends HandlerResult {
  status: 'SUCCEEDED';
  region: string;
  brokerId: string;
  /** The operation that made this Region's broker the primary, if this pair's orchestrator recorded it. */
  operation?: {
    id: string;
    mode: string;
    trigger: string;
    recoveryMs?: number;
    /** The RPO estimate: events not replicated (QueueSize) and seconds of lag, with the datapoint's age. */
    rpo?: RpoEstimate;
    redirect?: string;
  };
}

export const arcStep: HandlerBody<RegionSwitchStepResult> = async (event, { config, orchestrator }) => {
  parseRegionSwitchEvent(event);
  const look = async () => {
    const [{ state }, observation] = await Promise.all([
      orchestrator.store.load(config.pairId),
      orchestrator.broker.observe(config.localBrokerId),
    ]);
    return regionSwitchStatus(state, observation);
  };
  const before = await look();
  const decisions =
    before.kind === 'start'
      ? await handleEvent(orchestrator, {
          type: 'OPERATOR',
          mode: config.arcStepMode,
          operator: 'arc-region-switch',
          reason: `ARC Region switch activates ${config.region}`,
        })
      : before.kind === 'in-progress'
        ? await handleEvent(orchestrator, { type: 'SWEEP' })
        : [];
  const after = await look();
  const base = { pairId: config.pairId, decisions };
  switch (after.kind) {
    case 'done': {
      const op = after.operation;
      return {
        ...base,
        status: 'SUCCEEDED',
        region: config.region,
        brokerId: config.localBrokerId,
        ...(op
          ? {
              operation: {
                id: op.id,
                mode: op.mode,
                trigger: op.trigger,
                ...(op.completedAt !== undefined ? { recoveryMs: op.completedAt - op.startedAt } : {}),
                ...(op.rpo ? { rpo: op.rpo } : {}),
                ...(op.redirect ? { redirect: op.redirect.target ?? op.redirect.status } : {}),
              },
            }
          : {}),
      };
    }
    case 'in-progress': {
      const op = after.operation;
      const deadline = op.deadlineAt === undefined ? '' : `; escalates to FAILOVER at ${new Date(op.deadlineAt).toISOString()}`;
      throw new StepInProgressError(
        `${op.mode} ${op.id} is ${op.status}${deadline}; ARC runs this step again after its retry interval`,
      );
    }
    case 'waiting':
      throw new StepInProgressError(`${after.reason}; ARC runs this step again after its retry interval`);
    case 'start': {
      const refusal = decisions.at(-1)?.reason ?? 'no operation started';
      throw new StepRefusedError(`${config.arcStepMode} of ${config.localBrokerId} refused: ${refusal}`);
    }
  }
};

export const handler = makeHandler(arcStep, runtimeFromEnv(logger), metrics);
