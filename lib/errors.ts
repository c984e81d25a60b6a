/** Typed errors of the orchestrator. Messages say what happened and what to do next. */

/**
 * A validation issue as valibot (the orchestrator) and zod (the simulators) both report one: valibot's path is a
 * list of `{ key }` items, zod's a list of keys.
 */
export interface ValidationIssue {
  readonly message: string;
  readonly expected?: string | null | undefined;
  readonly received?: string | undefined;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: unknown }> | undefined;
}

/**
 * Each issue as `path: message`; `root` names what an issue without a path is about.
 *  - valibot writes the value it received into its messages ("Expected >=30 but received 5"). That value is
 *    whatever the caller sent, a request body's text included, and these messages are logged and returned:
 *    it is left out, as zod leaves it out.
 *  - A value that is missing (valibot: "… but received undefined") or a key a strict object does not know
 *    (valibot: "Invalid key: Expected never …") is said plainly, the path naming the key.
 */
export const issuesOf = (issues: readonly ValidationIssue[], root: string): string[] =>
  issues.map((i) => {
    const keys = (i.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p));
    const message =
      i.expected === 'never'
        ? 'unrecognized key'
        : i.received === 'undefined'
          ? `required, missing${i.expected && i.expected !== `"${keys.at(-1)}"` ? `: expected ${i.expected}` : ''}`
          : i.received === undefined
            ? i.message
            : i.message.replace(` but received ${i.received}`, '').replace(`: Received ${i.received}`, '');
    return `${keys.join('.') || root}: ${message}`;
  });

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
