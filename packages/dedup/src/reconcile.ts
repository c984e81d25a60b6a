/**
 * Reconcile the messages a failover left on the old primary: drain its queues, drop (or move to an audit queue)
 * what the consumer group already processed, and re-publish the rest to the current primary.
 *
 * Each message, in order:  processed? ──yes──► [audit copy] ─► ack on the old primary                  (dropped)
 *                                     └─no──► claim marker ─► publish with receipt ─► mark ─► ack  (republished)
 * A crash at any step leaves the message unacknowledged on the old primary, so the next run sees it again. The
 * marker (group `<group>:republished`) stops a re-run from publishing twice; in the one window it cannot cover
 * (after the publish, before the mark) the copy carries `dedupId` = the original ID, so the consumers' own dedup
 * still delivers it once.
 */
import type { Client, IMessage, StompHeaders } from '@stomp/stompjs';
import { DedupInputError } from './errors.ts';
import { DEDUP_ID_PROPERTY } from './mq-middleware.ts';
import { connectStomp, describeEndpoint, publishConfirmed, type StompEndpoint, stompMessageId } from './stomp.ts';
import { type DedupStore, RecordStatus, untilLeaseExpires } from './store.ts';

export interface QueueToReconcile {
  /** Queue name on both brokers, e.g. `orders`. */
  queue: string;
  /** The consumer group whose records decide what was processed. */
  group: string;
}

export interface ReconcileOptions {
  /** The old primary, holding the leftovers. */
  source: StompEndpoint;
  /** The current primary. */
  target: StompEndpoint;
  queues: readonly QueueToReconcile[];
  /** The dedup store of a group (its records), and of `<group>:republished` (the markers). */
  storeFor: (group: string) => DedupStore;
  /** Move processed messages to this queue on the current primary instead of dropping them. */
  auditQueue?: string;
  /** A queue counts as drained after this long without a message. Default 2000 ms. */
  idleMs?: number;
  idOf?: (message: IMessage) => string;
  /** Called just before a message is acknowledged on the old primary (an audit log, or a test's crash point). */
  beforeAck?: (message: IMessage, action: 'dropped' | 'audited' | 'republished' | 'already-republished') => void | Promise<void>;
}

export interface QueueReport extends QueueToReconcile {
  scanned: number;
  /** Processed before: acknowledged without a copy. */
  dropped: number;
  /** Processed before: copied to the audit queue. */
  audited: number;
  /** Not processed: published to the current primary. */
  republished: number;
  /** Published by an earlier run that stopped before acknowledging: acknowledged now. */
  alreadyRepublished: number;
}

/** Broker-set headers that must not be copied onto the re-published message. */
const BROKER_HEADERS = new Set([
  'message-id',
  'destination',
  'subscription',
  'ack',
  'content-length',
  'redelivered',
  'timestamp',
  'receipt',
]);

export async function reconcile(options: ReconcileOptions): Promise<QueueReport[]> {
  validate(options);
  const source = await connectStomp(options.source);
  const target = await connectStomp(options.target);
  try {
    const reports: QueueReport[] = [];
    for (const entry of options.queues) reports.push(await drainQueue(source, target, entry, options));
    return reports;
  } finally {
    await Promise.allSettled([source.deactivate(), target.deactivate()]);
  }
}

async function drainQueue(
  source: Client,
  target: Client,
  entry: QueueToReconcile,
  options: ReconcileOptions,
): Promise<QueueReport> {
  const { idleMs = 2000, idOf = stompMessageId, auditQueue, beforeAck } = options;
  const records = options.storeFor(entry.group);
  const markers = options.storeFor(`${entry.group}:republished`);
  const report: QueueReport = { ...entry, scanned: 0, dropped: 0, audited: 0, republished: 0, alreadyRepublished: 0 };
  const from = describeEndpoint(options.source);

  const handle = async (message: IMessage): Promise<void> => {
    report.scanned++;
    const id = idOf(message);
    const record = await records.lookup(id);
    if (record?.status === RecordStatus.COMPLETED) {
      if (auditQueue) await publishConfirmed(target, copyOf(message, `/queue/${auditQueue}`, id, from, entry.queue));
      const action = auditQueue ? 'audited' : 'dropped';
      await beforeAck?.(message, action);
      message.ack();
      report[action]++;
      return;
    }
    for (;;) {
      const claim = await markers.claim(id);
      if (claim.outcome === 'duplicate') {
        await beforeAck?.(message, 'already-republished');
        message.ack();
        report.alreadyRepublished++;
        return;
      }
      if (claim.outcome === 'in-progress') {
        // An earlier run stopped mid-publish, or another run is at it: wait for its claim to lapse.
        await untilLeaseExpires(claim.leaseExpiresAt);
        continue;
      }
      await publishConfirmed(target, copyOf(message, `/queue/${entry.queue}`, id, from));
      await markers.complete([{ messageId: id, token: claim.token }]);
      await beforeAck?.(message, 'republished');
      message.ack();
      report.republished++;
      return;
    }
  };

  // One message at a time (prefetch 1) keeps the re-published order and makes every step's effect visible.
  await new Promise<void>((resolve, reject) => {
    let chain = Promise.resolve();
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => chain.then(finish, fail), idleMs);
    };
    const subscription = source.subscribe(
      `/queue/${entry.queue}`,
      (message) => {
        clearTimeout(idle);
        chain = chain.then(() => handle(message)).then(armIdle);
        chain.catch(fail);
      },
      { ack: 'client-individual', 'activemq.prefetchSize': '1' } satisfies StompHeaders,
    );
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      subscription.unsubscribe();
      resolve();
    }
    function fail(error: unknown) {
      if (done) return;
      done = true;
      clearTimeout(idle);
      reject(error);
    }
    armIdle();
  });
  return report;
}

function copyOf(message: IMessage, destination: string, id: string, from: string, auditOf?: string) {
  const headers: StompHeaders = {};
  for (const [name, value] of Object.entries(message.headers)) if (!BROKER_HEADERS.has(name)) headers[name] = value;
  headers[DEDUP_ID_PROPERTY] = id;
  headers.reconciledFrom = from;
  if (auditOf) headers.auditOf = auditOf;
  // A content-length marks a bytes message in ActiveMQ; keep the type the producer chose.
  return 'content-length' in message.headers
    ? { destination, headers, binaryBody: message.binaryBody }
    : { destination, headers, body: message.body, skipContentLengthHeader: true };
}

function validate(options: ReconcileOptions): void {
  if (options.queues.length === 0) throw new DedupInputError('no queues to reconcile: pass at least one queue=group pair');
  for (const { queue } of options.queues) {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(queue))
      throw new DedupInputError(`queue name "${queue}" is not a plain ActiveMQ queue name`);
  }
  if (options.auditQueue !== undefined && options.queues.some((q) => q.queue === options.auditQueue)) {
    throw new DedupInputError(`audit queue ${options.auditQueue} is also a queue to reconcile: pick a separate queue`);
  }
  if (options.source.host === options.target.host && options.source.port === options.target.port) {
    throw new DedupInputError('source and target are the same broker: the source is the old primary, the target the current one');
  }
}
