/** Typed errors of the orchestrator. Messages say what happened and what to do next. */

export { issuesOf, type ValidationIssue } from '#dedup/issues.ts';

export class OrchestratorError extends Error {
  override name: string = 'OrchestratorError';
}

/** Configuration (environment) is missing or malformed: the function cannot start. */
export class ConfigurationError extends OrchestratorError {
  override name: string = 'ConfigurationError';
}

/** An incoming event or request does not have the expected shape. */
export class InvalidEventError extends OrchestratorError {
  override name: string = 'InvalidEventError';
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(issues.length ? `${message}: ${issues.join('; ')}` : message);
  }
}

/** Another writer changed the pair's record first; reload and decide again. */
export class VersionConflictError extends OrchestratorError {
  override name: string = 'VersionConflictError';
  constructor(
    readonly pairId: string,
    readonly expectedVersion: number,
  ) {
    super(`pair ${pairId} changed since version ${expectedVersion}; reload and decide again`);
  }
}

/** Kept losing the race for the pair's record: something is writing it in a tight loop. */
export class ContentionError extends OrchestratorError {
  override name: string = 'ContentionError';
  constructor(
    readonly pairId: string,
    attempts: number,
  ) {
    super(`pair ${pairId}: gave up after ${attempts} conflicting writes; check for a runaway trigger invoking the orchestrator`);
  }
}

/** The Amazon MQ API failed. `retryable` tells whether sending the same request again may succeed. */
export class BrokerApiError extends OrchestratorError {
  override name: string = 'BrokerApiError';
  constructor(
    message: string,
    readonly brokerId: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The state table is missing or unreachable. */
export class StoreError extends OrchestratorError {
  override name: string = 'StoreError';
}

/** Clients could not be pointed at the new primary (not the running primary yet, no endpoint, SSM refused). */
export class RedirectError extends OrchestratorError {
  override name: string = 'RedirectError';
}

/** An ARC Region switch step not finished yet: ARC runs it again after the step's retry interval. */
export class StepInProgressError extends OrchestratorError {
  override name: string = 'StepInProgressError';
}

/** The orchestrator refused an ARC Region switch step; the message says why and what a person must do. */
export class StepRefusedError extends OrchestratorError {
  override name: string = 'StepRefusedError';
}
