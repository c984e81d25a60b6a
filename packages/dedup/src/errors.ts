/** Typed errors of the consumer dedup SDK. Each message says what happened and what to do about it. */

export class DedupError extends Error {
  override name: string = 'DedupError';
}

/** A message ID, consumer group or option is unusable. Nothing was written. */
export class DedupInputError extends DedupError {
  override name: string = 'DedupInputError';
}

/** The dedup table does not exist in this Region, or this role cannot see it. */
export class DedupTableNotFoundError extends DedupError {
  override name: string = 'DedupTableNotFoundError';
  constructor(
    readonly tableName: string,
    readonly region: string,
    options?: { cause?: unknown },
  ) {
    super(
      `dedup table ${tableName} was not found in ${region}: deploy DedupTable from serverless.yml (a global table with a ` +
        `replica in this Region) or point tableName at the right table`,
      options,
    );
  }
}

/**
 * DynamoDB kept refusing a request with a retryable error (throttling, or, on an MRSC table, a concurrent write
 * from another Region) through every attempt. The message was not marked; it stays on the broker for redelivery.
 */
export class DedupThrottledError extends DedupError {
  override name: string = 'DedupThrottledError';
  constructor(
    readonly operation: string,
    readonly attempts: number,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    const advice =
      code === 'ReplicatedWriteConflictException'
        ? 'another Region kept writing the same records at the same time; check that both Regions are not consuming the same queue'
        : 'switch the table to on-demand capacity or raise its capacity, or lower consumer concurrency';
    super(
      `DynamoDB refused ${operation} ${attempts} times (${code}): ${advice}; the messages were not marked and will be redelivered`,
      options,
    );
  }
}

/** Any other failure of the dedup table (permissions, network). */
export class DedupStoreError extends DedupError {
  override name: string = 'DedupStoreError';
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
