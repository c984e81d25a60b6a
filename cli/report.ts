/**
 * A self-contained HTML report of a drill or an incident: replication lag over time with the alarm,
 * switchover, deadline, failover and recovery marked, and the decision timeline as a table. No external
 * files or scripts: the data is embedded as JSON and an inline script draws the SVG chart, so the report
 * opens anywhere, offline, years later.
 */
import type { Decision } from '#lib/core/model.ts';
import type { LagPoint } from '#lib/ports.ts';

export type MarkerKind = 'alarm' | 'switchover' | 'deadline' | 'failover' | 'recovered' | 'hold' | 'release' | 'incident';

export interface Marker {
  at: number;
  kind: MarkerKind;
  label: string;
}

export interface ReportInput {
  title: string;
  pairId: string;
  generatedAt: number;
  lag: LagPoint[];
  markers: Marker[];
  timeline: Decision[];
  /** Label/value lines shown above the chart (outcome, time to recovery, ...). */
  summary: Array<[string, string]>;
}

/** Markers from the decisions; `deadlineMs`, when known, places each switchover's deadline. */
export function markersOf(timeline: Decision[], deadlineMs?: number): Marker[] {
  const markers: Marker[] = [];
  for (const d of timeline) {
    if (d.dryRun) continue;
    if (d.event.startsWith('alarm ') && d.event.endsWith('→ALARM')) {
      markers.push({ at: d.at, kind: 'alarm', label: d.event.replace(/^alarm /, '') });
    }
    if (d.action === 'START_SWITCHOVER') {
      markers.push({ at: d.at, kind: 'switchover', label: `switchover ${d.operationId ?? ''}`.trim() });
      if (deadlineMs !== undefined) {
        markers.push({ at: d.at + deadlineMs, kind: 'deadline', label: `deadline (${Math.round(deadlineMs / 1000)} s)` });
      }
    }
    if (d.action === 'START_FAILOVER' || d.action === 'ESCALATE_TO_FAILOVER') markers.push({ at: d.at, kind: 'failover', label: 'failover' });
    if (d.action === 'COMPLETE') markers.push({ at: d.at, kind: 'recovered', label: 'new primary' });
    if (d.action === 'HOLD_ESCALATION') markers.push({ at: d.at, kind: 'hold', label: 'escalation held' });
    if (d.action === 'RELEASE_ESCALATION') markers.push({ at: d.at, kind: 'release', label: 'hold released' });
  }
  // A deadline that never came (the switchover completed or escalated first) is still worth seeing, but only
  // within the chart's time span: drop those beyond the last datapoint or decision.
  const end = Math.max(...timeline.map((d) => d.at), 0);
  return markers.filter((m) => m.kind !== 'deadline' || m.at <= end + 60_000);
}

const escapeHtml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** JSON safe inside <script>: no "</script>" or "<!--" can close or confuse the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/** Draws the chart into #chart from #report-data; runs in the browser. */
const DRAW = `
(() => {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const svg = document.getElementById('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 960, H = 360, L = 70, R = 20, T = 30, B = 50;
  const times = data.lag.map((p) => p.at).concat(data.markers.map((m) => m.at));
  if (times.length === 0) { svg.dataset.rendered = 'empty'; return; }
  const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 60000);
  const vmax = Math.max(1, ...data.lag.map((p) => p.value)) * 1.1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => H - B - (v / vmax) * (H - T - B);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    svg.appendChild(el);
    return el;
  };
  add('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' });
  add('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' });
  for (let i = 0; i <= 4; i++) {
    const v = (vmax / 4) * i;
    add('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, Math.round(v).toLocaleString('en'));
    const t = t0 + ((t1 - t0) / 4) * i;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    add('text', { x: x(t), y: H - B + 18, 'text-anchor': anchor, class: 'tick' }, new Date(t).toISOString().slice(11, 19));
  }
  add('text', { x: 14, y: T - 10, class: 'tick' }, 'TotalReplicationLag (messages)');
  // Gaps in the series (no datapoints while the primary's Region is down) stay gaps.
  let run = [];
  const flush = () => { if (run.length) add('polyline', { points: run.join(' '), class: 'lag' }); run = []; };
  data.lag.forEach((p, i) => {
    if (i > 0 && p.at - data.lag[i - 1].at > 3 * data.periodMs) flush();
    run.push(x(p.at).toFixed(1) + ',' + y(p.value).toFixed(1));
  });
  flush();
  data.markers.forEach((m, i) => {
    add('line', { x1: x(m.at), y1: T, x2: x(m.at), y2: H - B, class: 'marker ' + m.kind });
    add('text', { x: x(m.at) + 4, y: T + 12 + (i % 4) * 14, class: 'label ' + m.kind }, m.label);
  });
  svg.dataset.rendered = String(data.lag.length);
})();
`;

export function renderReport(input: ReportInput): string {
  const periodMs =
    input.lag.length > 1 ? Math.min(...input.lag.slice(1).map((p, i) => p.at - (input.lag[i] as LagPoint).at)) : 60_000;
  const data = { lag: input.lag, markers: input.markers, periodMs };
  const rows = input.timeline
    .map(
      (d) =>
        `<tr class="${escapeHtml(d.action)}"><td>${iso(d.at)}</td><td>${escapeHtml(d.event)}</td><td>${escapeHtml(d.action)}${d.dryRun ? ' (dry run)' : ''}</td><td>${escapeHtml(d.status)}</td><td>${escapeHtml(d.reason)}</td></tr>`,
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
  .lag { fill: none; stroke: #0969da; stroke-width: 2; }
  .marker { stroke-width: 1.5; stroke-dasharray: 4 3; } .label { font-size: 11px; }
  .alarm { stroke: #bf8700; fill: #bf8700; } .switchover { stroke: #1a7f37; fill: #1a7f37; }
  .deadline { stroke: #8250df; fill: #8250df; } .failover { stroke: #cf222e; fill: #cf222e; }
  .recovered { stroke: #116329; fill: #116329; } .hold, .release, .incident { stroke: #57606a; fill: #57606a; }
  table { border-collapse: collapse; margin-top: 16px; width: 100%; }
  th, td { border-bottom: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }
  tr.ESCALATE_TO_FAILOVER td, tr.FAIL td { background: #ffebe9; } tr.COMPLETE td { background: #dafbe1; }
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
<script>${DRAW}</script>
</body>
</html>
`;
}
