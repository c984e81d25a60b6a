/**
 * The public API of `@mq-crdr/dedup`: `import { DedupStore, processOnce, mqDedup } from '@mq-crdr/dedup'`. The
 * consumer that follows client redirection is `@mq-crdr/dedup/follow` (it alone needs @aws-sdk/client-ssm, an
 * optional peer dependency), and the failover URL client redirection writes is `@mq-crdr/dedup/broker-urls`.
 * Every other module of the package is internal.
 */
export {
  DedupError,
  DedupInputError,
  DedupStoreError,
  DedupTableNotFoundError,
  DedupThrottledError,
} from './errors.ts';
export {
  DEDUP_ID_PROPERTY,
  forEachMessage,
  MessagesNotProcessedError,
  type MqBatchResponse,
  type MqDedupOptions,
  type MqEvent,
  type MqMessage,
  mqDedup,
  mqMessageId,
} from './mq-middleware.ts';
export {
  type BatchOptions,
  type BatchResult,
  type Outcome,
  processBatch,
  processOnce,
  type SettledOutcome,
} from './process.ts';
export { type QueueReport, type QueueToReconcile, type ReconcileOptions, reconcile } from './reconcile.ts';
export {
  parseStompUrl,
  StompConnectionError,
  type StompConsumer,
  type StompConsumerOptions,
  type StompEndpoint,
  startStompConsumer,
  stompMessageId,
} from './stomp.ts';
export {
  type ClaimResult,
  type Completion,
  Consistency,
  type DedupRecord,
  DedupStore,
  type DedupStoreOptions,
  MAX_MESSAGE_ID_BYTES,
  RecordStatus,
} from './store.ts';
export { createDedupTable } from './table.ts';
