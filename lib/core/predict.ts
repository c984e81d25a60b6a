/**
 * When will a switchover's replication queue be empty? A least-squares line through the primary's QueueSize
 * datapoints taken since the switchover started (producers are stopped then, so the queue can only drain;
 * QueueSize is a count that falls to zero, where the lag metrics are times that do not), projected from the
 * last datapoint. Pure: the datapoints come in through the decision context.
 */
import type { ReplicationPoint } from './model.ts';

export interface DrainEstimate {
  /** The last datapoint's QueueSize (events). */
  events: number;
  at: number;
  /** Events per second the queue falls by (≤ 0: it is not draining). */
  drainRate: number;
  /** When the queue is expected to be empty; undefined when it is not draining. */
  zeroAt?: number;
  points: number;
}

/**
 * Undefined with fewer than `minPoints` QueueSize datapoints since `since`. `points` are the primary's (the
 * caller leaves out the other broker's).
 */
export function estimateDrain(points: ReplicationPoint[], since: number, minPoints: number): DrainEstimate | undefined {
  const used = points.flatMap((p) => (p.at >= since && p.events !== undefined ? [{ at: p.at, events: p.events }] : []));
  const last = used.at(-1);
  if (!last || used.length < Math.max(2, minPoints)) return undefined;
  const t0 = used[0]?.at ?? 0;
  const xs = used.map((p) => (p.at - t0) / 1000);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(used.map((p) => p.events));
  let sxy = 0;
  let sxx = 0;
  for (const [i, p] of used.entries()) {
    const dx = (xs[i] as number) - mx;
    sxy += dx * (p.events - my);
    sxx += dx * dx;
  }
  const drainRate = sxx === 0 ? 0 : -sxy / sxx;
  const estimate = { events: last.events, at: last.at, drainRate, points: used.length };
  if (last.events <= 0) return { ...estimate, zeroAt: last.at };
  return drainRate > 0 ? { ...estimate, zeroAt: last.at + (last.events / drainRate) * 1000 } : estimate;
}
