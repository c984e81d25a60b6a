/**
 * When will a switchover's replication lag reach zero? A least-squares line through the lag datapoints taken
 * since the switchover started (producers are stopped then, so the lag can only drain), projected from the
 * last datapoint. Pure: the datapoints come in through the decision context.
 */
import type { LagPoint } from './model.ts';

export interface DrainEstimate {
  /** The last datapoint. */
  lag: number;
  at: number;
  /** Messages per second the lag falls by (≤ 0: it is not draining). */
  drainRate: number;
  /** When the lag is expected to reach zero; undefined when it is not draining. */
  zeroAt?: number;
  points: number;
}

/** Undefined with fewer than `minPoints` datapoints since `since`. */
export function estimateDrain(points: LagPoint[], since: number, minPoints: number): DrainEstimate | undefined {
  const used = points.filter((p) => p.at >= since);
  const last = used.at(-1);
  if (!last || used.length < Math.max(2, minPoints)) return undefined;
  const t0 = used[0]?.at ?? 0;
  const xs = used.map((p) => (p.at - t0) / 1000);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(used.map((p) => p.value));
  let sxy = 0;
  let sxx = 0;
  for (const [i, p] of used.entries()) {
    const dx = (xs[i] as number) - mx;
    sxy += dx * (p.value - my);
    sxx += dx * dx;
  }
  const drainRate = sxx === 0 ? 0 : -sxy / sxx;
  const estimate = { lag: last.value, at: last.at, drainRate, points: used.length };
  if (last.value <= 0) return { ...estimate, zeroAt: last.at };
  return drainRate > 0 ? { ...estimate, zeroAt: last.at + (last.value / drainRate) * 1000 } : estimate;
}
