/**
 * The replication queue of a CRDR primary: the events (messages, acks, transactions) it has created and the
 * replica has not yet acknowledged, oldest first, each with its creation time (TC). The CRDR metrics are
 * derived from it (lib/mq-facts.ts names their published definitions): QueueSize is its length, the waits and
 * lags are differences of its timestamps.
 *
 * Events arrive in chunks created evenly over [from, to]; acknowledging a part of a chunk moves its start.
 */
interface Chunk {
  from: number;
  to: number;
  count: number;
}

/** More chunks than this are merged pairwise (oldest first): timestamps blur, counts stay exact. */
const MAX_CHUNKS = 2_000;

export class ReplicationQueue {
  private chunks: Chunk[] = [];
  private total = 0;
  /** The last event acknowledged: when it was created (TC) and acknowledged (TA). */
  lastAck: { createdAt: number; at: number } | undefined;

  constructor(readonly createdAt: number) {}

  /** Unacknowledged events (QueueSize). */
  get size(): number {
    return this.total;
  }

  /** TC of the oldest unacknowledged event. */
  oldest(): number | undefined {
    return this.chunks[0]?.from;
  }

  /** `count` events created evenly over [from, to]. */
  add(from: number, to: number, count: number): void {
    if (count <= 0) return;
    this.chunks.push({ from, to, count });
    this.total += count;
    if (this.chunks.length > MAX_CHUNKS) this.compact();
  }

  /**
   * Acknowledges, oldest first, at most `count` events created at or before `createdBy`, at time `at`.
   * Returns how many were acknowledged.
   */
  ack(count: number, createdBy: number, at: number): number {
    let left = count;
    while (left > 0 && this.chunks.length > 0) {
      const head = this.chunks[0] as Chunk;
      if (head.from > createdBy) break;
      // Events of the head chunk created by `createdBy`.
      const span = head.to - head.from;
      const eligible = span === 0 || createdBy >= head.to ? head.count : (head.count * (createdBy - head.from)) / span;
      const take = Math.min(left, eligible);
      if (take <= 0) break;
      left -= take;
      this.total -= take;
      if (take >= head.count - 1e-9) {
        this.chunks.shift();
        this.lastAck = { createdAt: head.to, at };
      } else {
        const moved = head.from + (span * take) / head.count;
        head.count -= take;
        head.from = moved;
        this.lastAck = { createdAt: moved, at };
      }
      if (take < eligible) break;
    }
    if (this.chunks.length === 0 || this.total < 1e-9) {
      this.chunks = [];
      this.total = 0;
    }
    return count - left;
  }

  /** Drops every event (a failover leaves them on the old primary); returns how many. */
  clear(): number {
    const dropped = this.total;
    this.chunks = [];
    this.total = 0;
    return dropped;
  }

  private compact(): void {
    const merged: Chunk[] = [];
    for (let i = 0; i < this.chunks.length; i += 2) {
      const a = this.chunks[i] as Chunk;
      const b = this.chunks[i + 1];
      merged.push(b ? { from: a.from, to: b.to, count: a.count + b.count } : a);
    }
    this.chunks = merged;
  }
}
