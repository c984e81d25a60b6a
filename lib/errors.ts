/** Typed errors of the orchestrator. Messages say what happened and what to do next. */
import type { ZodError } from 'zod';

/** Each zod issue as `path: message`; `root` names what an issue without a path is about. */
export const issuesOf = (error: ZodError, root: string): string[] =>
  error.issues.map((i) => `${i.path.join('.') || root}: ${i.message}`);

export class OrchestratorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Configuration (environment) is missing or malformed: the function cannot start. */
export class ConfigurationError extends OrchestratorError {}

/** An incoming event or request does not have the expected shape. */
export class InvalidEventError extends OrchestratorError {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(issues.length ? `${message}: ${issues.join('; ')}` : message);
  }
}

/** Another writer changed the pair's record first; reload and decide again. */
export class VersionConflictError extends OrchestratorError {
  constructor(
    readonly pairId: string,
    readonly expectedVersion: number,
  ) {
    super(`pair ${pairId} changed since version ${expectedVersion}; reload and decide again`);
  }
}

/** Kept losing the race for the pair's record: something is writing it in a tight loop. */
export class ContentionError extends OrchestratorError {
  constructor(
    readonly pairId: string,
    attempts: number,
  ) {
    super(`pair ${pairId}: gave up after ${attempts} conflicting writes; check for a runaway trigger invoking the orchestrator`);
  }
}

/** The Amazon MQ API failed. `retryable` tells whether sending the same request again may succeed. */
export class BrokerApiError extends OrchestratorError {
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
export class StoreError extends OrchestratorError {}

/** Clients could not be pointed at the new primary (not the running primary yet, no endpoint, SSM refused). */
export class RedirectError extends OrchestratorError {}

/** An ARC Region switch step not finished yet: ARC runs it again after the step's retry interval. */
export class StepInProgressError extends OrchestratorError {}

/** The orchestrator refused an ARC Region switch step; the message says why and what a person must do. */
export class StepRefusedError extends OrchestratorError {}
