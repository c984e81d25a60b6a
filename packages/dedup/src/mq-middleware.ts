/**
 * middy middleware for Lambda functions fed by an Amazon MQ (ActiveMQ) event source mapping.
 *
 * Amazon MQ event sources have no partial batch response: if the function fails, Lambda redelivers the whole
 * batch. So the middleware marks every message the handler processed, and only then fails the invocation for the
 * ones that failed; on the redelivery the processed ones are skipped.
 *
 *   before   skip processed messages (one BatchGetItem per 100), claim the rest; the handler sees only claimed ones
 *   handler  returns { batchItemFailures: [{ itemIdentifier: messageID }] } for the messages it could not process
 *   after    mark the others processed, release the failed ones, then throw MessagesNotProcessedError if any failed
 *   onError  the handler threw: release every claim (return batchItemFailures instead if some were processed)
 */
import type { MiddlewareObj, Request } from '@middy/core';
import * as v from 'valibot';
import { DedupError, DedupInputError, errorMessage } from './errors.ts';
import { issuesOf } from './issues.ts';
import { claimBatch, mapLimit } from './process.ts';
import type { Completion, DedupStore } from './store.ts';

/** The property a producer (or the reconcile tool) sets to give a message an ID that survives re-publishing. */
export const DEDUP_ID_PROPERTY = 'dedupId';

const MqMessageSchema = v.looseObject({
  messageID: v.string(),
  messageType: v.optional(v.string()),
  data: v.optional(v.string()),
  redelivered: v.optional(v.boolean()),
  destination: v.optional(v.looseObject({ physicalName: v.string() })),
  properties: v.optional(v.record(v.string(), v.string())),
});

const MqEventSchema = v.looseObject({
  eventSource: v.literal('aws:mq'),
  eventSourceArn: v.string(),
  messages: v.array(MqMessageSchema),
});

/** One message of an Amazon MQ (ActiveMQ) event source mapping's event. */
export type MqMessage = v.InferOutput<typeof MqMessageSchema>;
/** The event an Amazon MQ (ActiveMQ) event source mapping invokes a function with. */
export type MqEvent = v.InferOutput<typeof MqEventSchema>;

export interface MqBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The dedup ID of an Amazon MQ message: its `dedupId` property if set, else the broker's message ID. */
export const mqMessageId = (message: MqMessage): string => message.properties?.[DEDUP_ID_PROPERTY] ?? message.messageID;

/** Some messages of the batch were not processed; Lambda redelivers the batch and the processed ones are skipped. */
export class MessagesNotProcessedError extends DedupError {
  override name: string = 'MessagesNotProcessedError';
  constructor(
    readonly messageIds: string[],
    reasons: string[],
  ) {
    super(`${messageIds.length} message(s) not processed, batch left for redelivery: ${reasons.join('; ')}`);
  }
}

export interface MqDedupOptions {
  store: DedupStore;
  idOf?: (message: MqMessage) => string;
  /** Claims written at once. Default 16. */
  concurrency?: number;
}

interface Claims {
  /** messageID → claim of the messages handed to the handler */
  claimed: Map<string, Completion>;
  notProcessed: { messageId: string; reason: string }[];
  settled: boolean;
}

/**
 * @example
 * export const handler = middy(async (event: MqEvent) => forEachMessage(event.messages, handleOrder))
 *   .use(mqDedup({ store }));
 */
export function mqDedup({
  store,
  idOf = mqMessageId,
  concurrency = 16,
}: MqDedupOptions): MiddlewareObj<MqEvent, MqBatchResponse | undefined> {
  const claimsOf = new WeakMap<Request, Claims>();

  return {
    async before(request) {
      const parsed = v.safeParse(MqEventSchema, request.event);
      if (!parsed.success) {
        throw new DedupInputError(`not an Amazon MQ event: ${issuesOf(parsed.issues, '(root)').join('; ')}`);
      }
      const { messages } = parsed.output;
      const ids = messages.map(idOf);
      const outcomes = await claimBatch(store, ids, concurrency);
      const state: Claims = { claimed: new Map(), notProcessed: [], settled: false };
      const handed: MqMessage[] = [];
      messages.forEach((message, i) => {
        const outcome = outcomes[i];
        if (outcome?.outcome === 'claimed') {
          state.claimed.set(message.messageID, { messageId: ids[i] as string, token: outcome.token });
          handed.push(message);
        } else if (outcome?.outcome === 'in-progress') {
          state.notProcessed.push({
            messageId: message.messageID,
            reason: `being processed in ${outcome.region} until ${new Date(outcome.leaseExpiresAt).toISOString()}`,
          });
        } else if (outcome?.outcome === 'error') {
          state.notProcessed.push({ messageId: message.messageID, reason: errorMessage(outcome.error) });
        }
      });
      claimsOf.set(request, state);
      request.event = { ...parsed.output, messages: handed };
      if (handed.length === 0) {
        state.settled = true;
        failIfAny(state);
        return { batchItemFailures: [] };
      }
      return undefined;
    },

    async after(request) {
      const state = claimsOf.get(request);
      if (!state || state.settled) return;
      const failed = new Set((request.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      const done: Completion[] = [];
      const released: Completion[] = [];
      for (const [messageID, completion] of state.claimed) {
        if (failed.has(messageID)) {
          released.push(completion);
          state.notProcessed.push({ messageId: messageID, reason: 'the handler reported it failed' });
        } else done.push(completion);
      }
      state.settled = true;
      await store.complete(done);
      await mapLimit(released, concurrency, (c) => store.release(c).catch(() => undefined));
      failIfAny(state);
    },

    async onError(request) {
      const state = claimsOf.get(request);
      if (!state || state.settled) return;
      state.settled = true;
      await mapLimit([...state.claimed.values()], concurrency, (c) => store.release(c).catch(() => undefined));
    },
  };
}

/**
 * Run `fn` for each message (up to `concurrency` at once) and report the failures in the shape {@link mqDedup}
 * reads. A throwing message never stops the others.
 */
export async function forEachMessage(
  messages: readonly MqMessage[],
  fn: (message: MqMessage) => Promise<unknown>,
  concurrency = 16,
): Promise<MqBatchResponse> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  await mapLimit(messages, concurrency, async (message) => {
    try {
      await fn(message);
    } catch {
      batchItemFailures.push({ itemIdentifier: message.messageID });
    }
  });
  return { batchItemFailures };
}

function failIfAny(state: Claims): void {
  if (state.notProcessed.length === 0) return;
  throw new MessagesNotProcessedError(
    state.notProcessed.map((n) => n.messageId),
    state.notProcessed.map((n) => `${n.messageId}: ${n.reason}`),
  );
}
