/**
 * Client redirection after a completed promotion: requested once, retried by the sweep with a doubling delay,
 * dropped when the local broker is a replica again.
 */
import { Action, Code, type CoreEvent, type Operation, type Redirect, Role } from './model.ts';
import { isPromoted, type Step, seconds } from './step.ts';

/** When the sweep sends a failed redirection again: doubling from the configured delay, at most an hour. */
const redirectRetryAt = (redirect: Redirect, retryAfterMs: number): number =>
  redirect.requestedAt + Math.min(retryAfterMs * 2 ** (redirect.attempts - 1), 3_600_000);

export function retryRedirect(step: Step, op: Operation): void {
  const { now, config, observation } = step.ctx;
  const redirect = op.redirect;
  if (!config.redirect || redirect?.status !== 'PENDING' || now < redirectRetryAt(redirect, config.redirect.retryAfterMs)) {
    return;
  }
  if (observation.role === Role.REPLICA) {
    // Roles swapped back (the other Region's orchestrator, or by hand): its redirection is not ours to undo.
    redirect.status = 'SUPERSEDED';
    step.record(Action.REDIRECT_FAILED, 'the local broker is a REPLICA again; clients are not pointed at it');
    return;
  }
  if (!isPromoted(observation)) return; // not observable, or rebooting: the next sweep looks again
  redirect.attempts += 1;
  redirect.requestedAt = now;
  step.commands.push({ type: 'REDIRECT_CLIENTS', operationId: op.id });
  step.record(Action.REDIRECT_CLIENTS, `pointing clients at the new primary (attempt ${redirect.attempts})`);
}

export function onRedirectResult(step: Step, event: Extract<CoreEvent, { type: 'REDIRECT_RESULT' }>): void {
  const op = step.op;
  const redirect = op?.redirect;
  if (!op || op.id !== event.operationId || redirect?.status !== 'PENDING') {
    step.ignore(Code.NOT_CURRENT_OPERATION, 'result of a client redirection that the current operation no longer waits for');
    return;
  }
  const { now, config } = step.ctx;
  if (event.ok) {
    redirect.status = 'DONE';
    redirect.target = event.detail;
    redirect.doneAt = now;
    const clientsMs = now - (op.evidenceAt ?? op.startedAt);
    step.record(
      Action.CLIENTS_REDIRECTED,
      `clients pointed at the new primary, ${seconds(clientsMs)} after the first evidence: ${event.detail}`,
      { clientsMs },
    );
    step.notify('clients redirected', event.detail);
    return;
  }
  const maxAttempts = config.redirect?.maxAttempts ?? 1;
  if (redirect.attempts >= maxAttempts) {
    redirect.status = 'FAILED';
    step.record(Action.REDIRECT_FAILED, `${event.detail}; gave up after ${redirect.attempts} attempts`);
    step.notify('client redirection failed', `${event.detail}; point clients at the new primary by hand`);
    return;
  }
  const retryIn = redirectRetryAt(redirect, config.redirect?.retryAfterMs ?? 0) - now;
  step.record(Action.REDIRECT_FAILED, `${event.detail}; the sweep tries again in ${seconds(retryIn)}`);
}
