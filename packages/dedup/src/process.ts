/**
 * Process-once wrappers over a {@link DedupStore}: one message, or a batch at the cost of one read per 100
 * messages already processed, one conditional write per new message, and one write per 25 completions.
 */
import type { Completion, DedupStore } from './store.ts';

export type Outcome<T> =
  | { status: 'processed'; result: T }
  /** Processed before (by this group, in `region`): skipped. Safe to acknowledge. */
  | { status: 'duplicate'; region: string }
  /** Another consumer holds a live claim until `leaseExpiresAt`: do not acknowledge; retry after it. */
  | { status: 'in-progress'; leaseExpiresAt: number; region: string }
  /** The handler (or marking it processed) failed: nothing was marked; do not acknowledge. */
  | { status: 'failed'; error: unknown };

export type SettledOutcome<T> = Exclude<Outcome<T>, { status: 'failed' }>;

/**
 * Run `fn` unless this group processed `messageId` before. If `fn` throws, the claim is released and the error
 * rethrown, so a redelivery processes the message again.
 *
 * @example
 * const outcome = await processOnce(store, message.headers['message-id'], () => charge(order));
 * if (outcome.status !== 'in-progress') message.ack();
 */
export async function processOnce<T>(store: DedupStore, messageId: string, fn: () => Promise<T>): Promise<SettledOutcome<T>> {
  const claim = await store.claim(messageId);
  if (claim.outcome === 'duplicate') return { status: 'duplicate', region: claim.region };
  if (claim.outcome === 'in-progress')
    return { status: 'in-progress', leaseExpiresAt: claim.leaseExpiresAt, region: claim.region };
  const completion = { messageId, token: claim.token };
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await releaseQuietly(store, completion);
    throw error;
  }
  await store.complete([completion]);
  return { status: 'processed', result };
}

/** A claim, or why the message could not be claimed (a bad ID, or DynamoDB failing): it stays unacknowledged. */
export type ClaimOutcome = Awaited<ReturnType<DedupStore['claim']>> | { outcome: 'error'; error: unknown };

/**
 * Claim every message of a batch that is not processed yet: one BatchGetItem per 100 IDs finds the processed
 * ones, then the rest are claimed with `concurrency` conditional writes at a time. An ID repeated within the
 * batch is claimed once; its later copies are reported as duplicates of the first.
 */
export async function claimBatch(store: DedupStore, ids: readonly string[], concurrency = 16): Promise<ClaimOutcome[]> {
  const outcomes: ClaimOutcome[] = new Array(ids.length);
  const valid: string[] = [];
  ids.forEach((id, i) => {
    try {
      store.key(id);
      valid.push(id);
    } catch (error) {
      outcomes[i] = { outcome: 'error', error };
    }
  });
  const done = await store.processed(valid);
  const first = new Map<string, number>();
  const toClaim: number[] = [];
  ids.forEach((id, i) => {
    if (outcomes[i]) return;
    if (done.has(id) || first.has(id)) outcomes[i] = { outcome: 'duplicate', region: store.region };
    else {
      first.set(id, i);
      toClaim.push(i);
    }
  });
  await mapLimit(toClaim, concurrency, async (i) => {
    try {
      outcomes[i] = await store.claim(ids[i] as string);
    } catch (error) {
      outcomes[i] = { outcome: 'error', error };
    }
  });
  return outcomes;
}

export interface BatchOptions<M> {
  /** The dedup ID of a message. */
  idOf: (message: M) => string;
  /** Handlers running at once. Default 16. */
  concurrency?: number;
}

export interface BatchResult<M, T> {
  message: M;
  messageId: string;
  outcome: Outcome<T>;
}

/**
 * Run `fn` once for every message of the batch not processed before. A failing message is released and
 * reported `failed`; it never marks or holds back the others. Completions are written 25 at a time as handlers
 * finish; if that write fails, its messages are reported `failed` (not acknowledged, so never lost).
 *
 * @example
 * const results = await processBatch(store, event.messages, (m) => handle(m), { idOf: (m) => m.messageID });
 */
export async function processBatch<M, T>(
  store: DedupStore,
  messages: readonly M[],
  fn: (message: M) => Promise<T>,
  { idOf, concurrency = 16 }: BatchOptions<M>,
): Promise<BatchResult<M, T>[]> {
  const ids = messages.map((m) => safeId(idOf, m));
  const claims = await claimBatch(store, ids, concurrency);
  const results: BatchResult<M, T>[] = messages.map((message, i) => ({
    message,
    messageId: ids[i] as string,
    outcome: settledFromClaim<T>(claims[i] as ClaimOutcome),
  }));

  const buffer = new CompletionBuffer(store, (indexes, error) => {
    for (const i of indexes) (results[i] as BatchResult<M, T>).outcome = { status: 'failed', error };
  });
  const claimed = results.flatMap((_, i) => (claims[i]?.outcome === 'claimed' ? [i] : []));
  await mapLimit(claimed, concurrency, async (i) => {
    const entry = results[i] as BatchResult<M, T>;
    const completion = { messageId: entry.messageId, token: (claims[i] as { token: string }).token };
    try {
      entry.outcome = { status: 'processed', result: await fn(entry.message) };
    } catch (error) {
      entry.outcome = { status: 'failed', error };
      await releaseQuietly(store, completion);
      return;
    }
    await buffer.add(i, completion);
  });
  await buffer.flush();

  // Later copies of an ID share the first copy's fate (only first copies were claimed).
  const firstIndex = new Map(claimed.map((i) => [(results[i] as BatchResult<M, T>).messageId, i]));
  results.forEach((r, i) => {
    const first = firstIndex.get(r.messageId);
    if (first === undefined || first === i) return;
    const firstOutcome = (results[first] as BatchResult<M, T>).outcome;
    if (firstOutcome.status !== 'processed') r.outcome = firstOutcome;
  });
  return results;
}

function settledFromClaim<T>(claim: ClaimOutcome): Outcome<T> {
  switch (claim.outcome) {
    case 'error':
      return { status: 'failed', error: claim.error };
    case 'duplicate':
      return { status: 'duplicate', region: claim.region };
    case 'in-progress':
      return { status: 'in-progress', leaseExpiresAt: claim.leaseExpiresAt, region: claim.region };
    case 'claimed':
      return { status: 'failed', error: new Error('not run') }; // replaced when the handler runs
  }
}

/** Collects completions and writes them in BatchWriteItem-sized groups. */
class CompletionBuffer {
  private pending: { index: number; completion: Completion }[] = [];
  constructor(
    private readonly store: DedupStore,
    private readonly onFailure: (indexes: number[], error: unknown) => void,
  ) {}

  async add(index: number, completion: Completion): Promise<void> {
    this.pending.push({ index, completion });
    if (this.pending.length >= 25) await this.flush();
  }

  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      await this.store.complete(batch.map((b) => b.completion));
    } catch (error) {
      this.onFailure(
        batch.map((b) => b.index),
        error,
      );
    }
  }
}

function safeId<M>(idOf: (m: M) => string, message: M): string {
  try {
    return idOf(message);
  } catch {
    return '';
  }
}

async function releaseQuietly(store: DedupStore, completion: Completion): Promise<void> {
  // If the release fails too, the lease simply runs out and the redelivery waits for it.
  await store.release(completion).catch(() => undefined);
}

/** Run `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
