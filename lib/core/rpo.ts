/**
 * The RPO estimate of a failover: what the primary had not replicated, from its own CRDR datapoint, with the
 * datapoint's age; unknown, and why, when that datapoint is missing, stale or another broker's. Pure.
 */
import { MAX_DATAPOINT_AGE_MS } from '../mq-facts.ts';
import { type ReplicationPoint, type RpoEstimate, RpoUnknown } from './model.ts';

const iso = (t: number): string => new Date(t).toISOString();
const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

/**
 * The RPO of a failover decided now: the primary's own last datapoint (QueueSize and TotalReplicationLag).
 * The primary is the other Region's broker (unless `primaryIsLocal`: the operator's view of a pair whose
 * local broker is the primary); a datapoint of the other broker (from when it was the primary) says nothing
 * about what this one holds, and one older than MAX_DATAPOINT_AGE_MS says nothing about now.
 */
export function rpoNow(points: readonly ReplicationPoint[] | undefined, now: number, primaryIsLocal = false): RpoEstimate {
  const unknown = (why: RpoUnknown, point?: ReplicationPoint): RpoEstimate => ({
    events: null,
    lagSeconds: null,
    unknown: why,
    ...(point ? { measuredAt: point.at, ageMs: now - point.at } : {}),
  });
  const ofPrimary = (p: ReplicationPoint) => p.local === primaryIsLocal;
  const last = points?.filter((p) => ofPrimary(p) && (p.events !== undefined || p.lagSeconds !== undefined)).at(-1);
  if (!last) return unknown(points?.some((p) => !ofPrimary(p)) ? RpoUnknown.OTHER_BROKER : RpoUnknown.NO_DATAPOINT);
  if (now - last.at > MAX_DATAPOINT_AGE_MS) return unknown(RpoUnknown.STALE, last);
  return {
    events: last.events ?? null,
    lagSeconds: last.lagSeconds ?? null,
    measuredAt: last.at,
    ageMs: now - last.at,
  };
}

const RPO_UNKNOWN_WHY: Record<RpoUnknown, string> = {
  NO_DATAPOINT: "no datapoint of the primary's replication metrics could be read",
  STALE: "the primary's last datapoint is too old to tell",
  OTHER_BROKER: "the only datapoints are this Region's broker's, from when it was the primary",
  NOT_READ: 'decided while nothing could be read',
};

export const describeRpo = (rpo: RpoEstimate): string => {
  // A record written before the RPO had units: its `messages` was TotalReplicationLag (a time), never a count.
  if ((rpo as { events?: unknown }).events === undefined) {
    return 'RPO unknown: recorded by an earlier version, whose figure was a replication lag read as messages';
  }
  const age = rpo.ageMs === undefined ? '' : `, datapoint of ${iso(rpo.measuredAt ?? 0)}, ${seconds(rpo.ageMs)} old`;
  if (rpo.unknown) return `RPO unknown: ${RPO_UNKNOWN_WHY[rpo.unknown]}${age}`;
  const events = rpo.events === null ? 'unknown events' : `${rpo.events} events`;
  const lag = rpo.lagSeconds === null ? '' : `, ${rpo.lagSeconds.toFixed(1)} s of replication lag`;
  return `RPO estimate ${events} not replicated (QueueSize)${lag}${age}`;
};
