/**
 * A self-contained HTML report of a drill or an incident: replication lag over time with the alarm,
 * switchover, deadline, failover and recovery marked, and the decision timeline as a table. No external
 * files or scripts: the data is embedded as JSON and an inline script draws the SVG chart, so the report
 * opens anywhere, offline, years later.
 */
import type { Decision } from '../../../lib/core/model.ts';
import type { ReplicationPoint } from '../../../lib/ports.ts';
import { type ChartData, drawChart } from './chart.ts';

export type MarkerKind = 'alarm' | 'switchover' | 'deadline' | 'failover' | 'recovered' | 'hold' | 'release' | 'incident';

export interface Marker {
  at: number;
  kind: MarkerKind;
  label: string;
}

/** One broker's QueueSize (events not replicated): after a failover the new primary publishes its own series. */
export interface ReplicationSeriesInput {
  name: string;
  points: ReplicationPoint[];
}

/** Which broker accepted clients from `from` to `to` (null: neither did, e.g. during a switchover). */
export interface ClientsSpan {
  from: number;
  to: number;
  broker: string | null;
}

export interface ReportInput {
  title: string;
  pairId: string;
  generatedAt: number;
  series: ReplicationSeriesInput[];
  /** The lag alarm's threshold, drawn as a line, when known. */
  threshold?: number;
  /** Who accepted clients when, drawn as a band under the chart, when known. */
  clients?: ClientsSpan[];
  markers: Marker[];
  timeline: Decision[];
  /** Label/value lines shown above the chart (outcome, time to recovery, ...). */
  summary: Array<[string, string]>;
}

/**
 * Who accepted clients, from the timeline: the old primary until an operation started, neither while the
 * promotion ran (a switchover stops client writes; a failover takes the old primary away), the new primary from
 * its completion on.
 */
export function clientsOf(timeline: Decision[], from: number, to: number, oldPrimary: string, newPrimary: string): ClientsSpan[] {
  const start = timeline.find((d) => !d.dryRun && (d.action === 'START_SWITCHOVER' || d.action === 'START_FAILOVER'));
  const done = timeline.find((d) => !d.dryRun && d.action === 'COMPLETE' && (start === undefined || d.at >= start.at));
  if (!start) return [{ from, to, broker: oldPrimary }];
  const spans: ClientsSpan[] = [
    { from, to: start.at, broker: oldPrimary },
    { from: start.at, to: done?.at ?? to, broker: null },
  ];
  if (done) spans.push({ from: done.at, to, broker: newPrimary });
  return spans.filter((s) => s.to > s.from);
}

/** Markers from the decisions; `deadlineMs`, when known, places each switchover's deadline. */
/** What ends a switchover before its deadline can come. */
const ENDS = new Set<string>(['ESCALATE_TO_FAILOVER', 'COMPLETE', 'SUPERSEDE', 'ABANDON', 'FAIL']);

export function markersOf(timeline: Decision[], deadlineMs?: number): Marker[] {
  const markers: Marker[] = [];
  for (const d of timeline) {
    if (d.dryRun) continue;
    if (d.event.startsWith('alarm ') && d.event.endsWith('→ALARM')) {
      markers.push({ at: d.at, kind: 'alarm', label: d.event.replace(/^alarm /, '') });
    }
    if (d.action === 'START_SWITCHOVER') {
      markers.push({ at: d.at, kind: 'switchover', label: `switchover ${d.operationId ?? ''}`.trim() });
      const deadlineAt = deadlineMs === undefined ? undefined : d.at + deadlineMs;
      // Only a deadline the operation met: one escalated or ended before it never had a deadline moment.
      const endedBefore = timeline.some(
        (e) => !e.dryRun && e.operationId === d.operationId && ENDS.has(e.action) && e.at < (deadlineAt ?? 0),
      );
      if (deadlineAt !== undefined && deadlineMs !== undefined && !endedBefore) {
        markers.push({ at: deadlineAt, kind: 'deadline', label: `deadline (${Math.round(deadlineMs / 1000)} s)` });
      }
    }
    // The failover says what set it off: the operator, the deadline, the outage, the prediction.
    if (d.action === 'START_FAILOVER') markers.push({ at: d.at, kind: 'failover', label: 'failover (operator)' });
    if (d.action === 'ESCALATE_TO_FAILOVER') {
      const by = d.escalatedBy === 'sweep' ? 'deadline' : d.escalatedBy;
      markers.push({ at: d.at, kind: 'failover', label: by ? `failover (${by})` : 'failover' });
    }
    if (d.action === 'COMPLETE') markers.push({ at: d.at, kind: 'recovered', label: 'new primary' });
    if (d.action === 'HOLD_ESCALATION') markers.push({ at: d.at, kind: 'hold', label: 'escalation held' });
    if (d.action === 'RELEASE_ESCALATION') markers.push({ at: d.at, kind: 'release', label: 'hold released' });
  }
  // A deadline still ahead (the operation in flight) is drawn only within the chart's time span.
  const end = Math.max(...timeline.map((d) => d.at), 0);
  return markers.filter((m) => m.kind !== 'deadline' || m.at <= end + 60_000);
}

const escapeHtml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** JSON safe inside <script>: no "</script>" or "<!--" can close or confuse the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/**
 * The chart's script: drawChart's own source, run once. `__name` is the helper esbuild adds where it keeps function
 * names (tsx does): defined here so that the source runs in a page that has no esbuild.
 */
const CHART_SCRIPT = `const __name = (f) => f;\n(${drawChart.toString()})();`;

/** How much of a reason a row shows before it folds (a probe's detail repeats a whole DescribeBroker error). */
const REASON_FOLD = 160;

/** A long reason folds: its beginning shows, the whole of it one click away (nothing is cut). */
const reasonCell = (reason: string): string =>
  reason.length <= REASON_FOLD
    ? escapeHtml(reason)
    : `<details><summary>${escapeHtml(reason.slice(0, REASON_FOLD))}…</summary>${escapeHtml(reason)}</details>`;

/** The status column: a failed redirection says so rather than only the operation's COMPLETED. */
const statusOf = (d: Decision): string => (d.action === 'REDIRECT_FAILED' ? `${d.status}; clients NOT redirected` : d.status);

export function renderReport(input: ReportInput): string {
  const gaps = input.series.flatMap((series) =>
    series.points.slice(1).map((p, i) => p.at - (series.points[i] as ReplicationPoint).at),
  );
  const periodMs = gaps.length > 0 ? Math.min(...gaps) : 60_000;
  // The chart draws QueueSize, a count that drains to zero; a minute without it is left out.
  const data: ChartData = {
    series: input.series.map((s) => ({
      name: s.name,
      points: s.points.flatMap((p) => (p.events === undefined ? [] : [{ at: p.at, value: p.events }])),
    })),
    markers: input.markers,
    periodMs,
    threshold: input.threshold ?? null,
    clients: input.clients ?? [],
  };
  const rows = input.timeline
    .map(
      (d) =>
        `<tr class="${escapeHtml(d.action)}"><td>${iso(d.at)}</td><td>${escapeHtml(d.event)}</td><td>${escapeHtml(d.action)}${d.dryRun ? ' (dry run)' : ''}</td><td>${escapeHtml(statusOf(d))}</td><td>${reasonCell(d.reason)}</td></tr>`,
    )
    .join('\n');
  const summary = input.summary.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .meta { color: #57606a; margin-bottom: 16px; }
  dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0 0 16px; }
  dt { color: #57606a; } dd { margin: 0; }
  svg { border: 1px solid #d0d7de; background: #fff; }
  .axis { stroke: #57606a; } .tick { font-size: 11px; fill: #57606a; }
  .lag { fill: none; stroke-width: 2; } .series-0 { stroke: #0969da; } .series-1 { stroke: #bc4c00; }
  .series-fill-0 { fill: #0969da; opacity: 0.55; } .series-fill-1 { fill: #bc4c00; opacity: 0.55; }
  .clients.none { fill: #cf222e; opacity: 0.35; } .grid { stroke: #eaeef2; }
  .threshold { stroke: #bf8700; stroke-width: 1.5; stroke-dasharray: 6 4; } .threshold-label { fill: #9a6700; }
  .marker { stroke-width: 1.5; stroke-dasharray: 4 3; } .label { font-size: 11px; }
  .alarm { stroke: #bf8700; fill: #bf8700; } .switchover { stroke: #1a7f37; fill: #1a7f37; }
  .deadline { stroke: #8250df; fill: #8250df; } .failover { stroke: #cf222e; fill: #cf222e; }
  .recovered { stroke: #116329; fill: #116329; } .hold, .release, .incident { stroke: #57606a; fill: #57606a; }
  table { border-collapse: collapse; margin-top: 16px; width: 100%; }
  summary { cursor: pointer; } details[open] summary { display: none; }
  th, td { border-bottom: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }
  tr.ESCALATE_TO_FAILOVER td, tr.FAIL td, tr.REDIRECT_FAILED td { background: #ffebe9; }
  tr.COMPLETE td, tr.CLIENTS_REDIRECTED td { background: #dafbe1; }
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<div class="meta">pair ${escapeHtml(input.pairId)} · generated ${iso(input.generatedAt)}</div>
<dl>${summary}</dl>
<svg id="chart" width="960" height="360" viewBox="0 0 960 360" role="img" aria-label="Replication lag over time with the orchestrator's decisions marked"></svg>
<table>
<thead><tr><th>time (UTC)</th><th>event</th><th>decision</th><th>status</th><th>reason</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
