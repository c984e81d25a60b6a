/**
 * The interfaces the orchestrator needs from the outside world. Each has one AWS adapter in lib/adapters/
 * (and the local scheduler in lib/adapters/local-scheduler.ts for the embedded default).
 */
import type {
  BreakGlassRecord,
  BrokerObservation,
  CoreEvent,
  Decision,
  Mode,
  Notification,
  PairState,
  PublishedOutcome,
  ReplicationPoint,
} from './core/model.ts';

export interface Clock {
  now(): number;
  /** Lets `ms` pass: a timer on AWS; the embedded default's clocks move their own time instead. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface BrokerApi {
  /** DescribeBroker of the local broker reduced to what the core decides on; never throws. */
  observe(brokerId: string): Promise<BrokerObservation>;
  /** Promote the broker; throws BrokerApiError. */
  promote(brokerId: string, mode: Mode): Promise<void>;
}

export interface StoredPair {
  state: PairState;
  /** Decisions of state.version, kept on the record until the next write has flushed them to the timeline. */
  pending: Decision[];
}

export interface PairStore {
  load(pairId: string): Promise<StoredPair>;
  /**
   * Writes `next` (whose version is one above `previous.state.version`) only if the stored version is still
   * the previous one, after flushing `previous.pending` to the timeline. Throws VersionConflictError.
   */
  save(previous: StoredPair, next: PairState, decisions: Decision[]): Promise<void>;
  /** The whole audit timeline of the pair, oldest first, including decisions not flushed yet. */
  timeline(pairId: string): Promise<Decision[]>;
  /** One page of it, read with a bounded query (see DynamoPairStore.timelinePage). */
  timelinePage(pairId: string, request: TimelinePageRequest, stored?: StoredPair): Promise<TimelinePage>;
}

export interface TimelinePageRequest {
  limit: number;
  /** Where the previous page ended (its `nextCursor`). */
  cursor?: string;
  newestFirst?: boolean;
}

export interface TimelinePage {
  /** In the order asked for. */
  decisions: Decision[];
  /** Present when there is more: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export interface DeadlineScheduler {
  /** Nothing is scheduled: deadlines wait for the sweep (no EventBridge Scheduler target configured). */
  readonly sweepOnly?: boolean;
  schedule(pairId: string, operationId: string, at: number): Promise<void>;
  cancel(pairId: string, operationId: string): Promise<void>;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

export interface ClientRedirector {
  /**
   * Points clients at `brokerId`, checking first that DescribeBroker shows it the running primary; writes
   * only what differs, so it may be called again. Returns what clients now read; throws RedirectError.
   */
  redirect(brokerId: string): Promise<string>;
  /** What clients read now in each Region (readiness): the value, or why it cannot be read. */
  current?(): Promise<Array<{ region: string; value?: string; error?: string }>>;
}

/** What one probe of the primary saw: the PROBE event the core decides on, less its type and timestamp. */
export type ProbeResult = Omit<Extract<CoreEvent, { type: 'PROBE' }>, 'type' | 'sentAt'>;

export interface PrimaryProbe {
  /** DescribeBroker of the primary from this Region plus a handshake with its endpoints; never throws. */
  probe(): Promise<ProbeResult>;
}

export type { ReplicationPoint };

export interface ReplicationSeries {
  /** Both brokers' points, oldest first (a broker publishes only while it is the primary). */
  points: ReplicationPoint[];
  /** Regions whose metrics could not be read, and why. */
  errors: string[];
  /** Each broker's own series (its Region's CloudWatch), oldest first: the report draws one line per broker. */
  byBroker: Array<{ region: string; brokerName: string; points: ReplicationPoint[] }>;
}

export interface ReplicationMetrics {
  /**
   * QueueSize and TotalReplicationLag published by the given brokers (each in its Region, both instances)
   * between `from` and `to`; `local` marks this Region's own broker.
   */
  series(
    brokers: Array<{ region: string; brokerName: string; local: boolean }>,
    from: number,
    to: number,
    periodSeconds: number,
    abortSignal?: AbortSignal,
  ): Promise<ReplicationSeries>;
}

/** One Region's item in the pair view: its published outcomes, and break-glass failovers not recorded yet. */
export interface PublishedItem extends PublishedOutcome {
  breakGlass?: BreakGlassRecord[];
}

/**
 * The pair view (a DynamoDB global table on AWS): each Region writes only its own item and reads both from its
 * own Region's replica, so a read answers even while the other Region is down (with what had replicated).
 */
export interface PairViewStore {
  read(pairId: string): Promise<{ own?: PublishedItem; peer?: PublishedItem }>;
  /** Replaces this Region's own item. */
  publish(pairId: string, item: PublishedItem): Promise<void>;
}
