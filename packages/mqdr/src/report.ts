/**
 * A self-contained HTML report of a drill or an incident: replication lag over time with the alarm,
 * switchover, deadline, failover and recovery marked, and the decision timeline as a table. No external
 * files or scripts: the data is embedded as JSON and an inline script draws the SVG chart, so the report
 * opens anywhere, offline, years later.
 */
import type { Decision } from '../../../lib/core/model.ts';
import type { ReplicationPoint } from '../../../lib/ports.ts';

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
 * Draws the chart into #chart from #report-data; runs in the browser. Hand-drawn SVG (about a hundred lines)
 * rather than a charting library inlined into every report: the chart is one kind of plot, and the report
 * must stay a small self-contained file. Axes get round ticks (1, 2 or 5 times a power of ten; whole minutes),
 * each broker its own coloured series in the legend, the alarm threshold a line, who accepted clients a band
 * under the axis, and marker labels rows of their own where they would overlap. Each label records the box
 * Chromium measured for it (data-box) so that a test can check that no two overlap.
 */
const DRAW = `
(() => {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const svg = document.getElementById('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 960, L = 70, R = 20, ROW = 14;
  const all = data.series.flatMap((s) => s.points);
  const times = all.map((p) => p.at).concat(data.markers.map((m) => m.at), data.clients.flatMap((c) => [c.from, c.to]));
  if (times.length === 0) { svg.dataset.rendered = 'empty'; return; }
  const add = (tag, attrs, text, parent) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    (parent || svg).appendChild(el);
    return el;
  };
  const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 60000);
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);

  // Marker labels first: greedy rows, measured by the browser, so that the plot starts below the last row.
  const labels = add('g', { class: 'labels' });
  const rows = [];
  const placed = data.markers.slice().sort((a, b) => a.at - b.at).map((m) => {
    const text = add('text', { x: x(m.at) + 3, y: 0, class: 'label ' + m.kind }, m.label, labels);
    const width = text.getBBox().width;
    const left = x(m.at) + 3;
    let row = rows.findIndex((end) => end + 6 <= left);
    if (row < 0) { row = rows.length; rows.push(0); }
    rows[row] = left + width;
    return { m, text, row };
  });
  const T = 16 + rows.length * ROW, PLOT = 260, BAND = 18, AXIS = 30, LEGEND = 22;
  const H = T + PLOT + BAND + AXIS + LEGEND;
  svg.setAttribute('height', H);
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const bottom = T + PLOT;
  for (const { m, text, row } of placed) {
    text.setAttribute('y', 12 + row * ROW);
    add('line', { x1: x(m.at), y1: 14 + row * ROW, x2: x(m.at), y2: bottom, class: 'marker ' + m.kind });
  }
  for (const { text } of placed) {
    const b = text.getBBox();
    text.dataset.box = [b.x, b.y, b.width, b.height].map((n) => n.toFixed(1)).join(',');
  }

  // Round ticks: a step of 1, 2 or 5 times a power of ten for the lag, whole minutes for the time.
  const nice = (span, count) => {
    const raw = span / count, p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw);
  };
  const top = Math.max(1, data.threshold || 0, ...all.map((p) => p.value)) * 1.08;
  const vstep = nice(top, 5), vmax = Math.ceil(top / vstep) * vstep;
  const y = (v) => bottom - (v / vmax) * PLOT;
  add('line', { x1: L, y1: bottom, x2: W - R, y2: bottom, class: 'axis' });
  add('line', { x1: L, y1: T, x2: L, y2: bottom, class: 'axis' });
  for (let v = 0; v <= vmax + vstep / 2; v += vstep) {
    add('line', { x1: L, y1: y(v), x2: W - R, y2: y(v), class: 'grid' });
    add('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'tick ytick' }, v.toLocaleString('en'));
  }
  const minutes = [1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440];
  const tstep = (minutes.find((mn) => (t1 - t0) / (mn * 60000) <= 10) || 1440) * 60000;
  for (let t = Math.ceil(t0 / tstep) * tstep; t <= t1; t += tstep) {
    add('line', { x1: x(t), y1: bottom + BAND, x2: x(t), y2: bottom + BAND + 4, class: 'axis' });
    add('text', { x: x(t), y: bottom + BAND + 16, 'text-anchor': 'middle', class: 'tick xtick' }, new Date(t).toISOString().slice(11, 16));
  }
  add('text', { x: 4, y: T - 4, class: 'tick' }, 'events not replicated (QueueSize)');

  // The alarm threshold.
  if (data.threshold) {
    add('line', { x1: L, y1: y(data.threshold), x2: W - R, y2: y(data.threshold), class: 'threshold' });
    add('text', { x: W - R - 4, y: y(data.threshold) - 4, 'text-anchor': 'end', class: 'tick threshold-label' }, 'lag alarm ' + data.threshold.toLocaleString('en'));
  }

  // One series per broker; gaps (no datapoints while a Region is down) stay gaps.
  data.series.forEach((s, i) => {
    let run = [];
    const flush = () => { if (run.length) add('polyline', { points: run.join(' '), class: 'lag series-' + i }); run = []; };
    s.points.forEach((p, j) => {
      if (j > 0 && p.at - s.points[j - 1].at > 3 * data.periodMs) flush();
      run.push(x(p.at).toFixed(1) + ',' + y(p.value).toFixed(1));
    });
    flush();
  });

  // Who accepted clients: a band under the axis.
  const brokers = data.series.map((s) => s.name);
  for (const c of data.clients) {
    const i = brokers.indexOf(c.broker);
    add('rect', { x: x(c.from), y: bottom + 3, width: Math.max(1, x(c.to) - x(c.from)), height: BAND - 6,
      class: c.broker === null ? 'clients none' : 'clients series-fill-' + (i < 0 ? 'x' : i) }, undefined)
      .appendChild(document.createElementNS(ns, 'title')).textContent = c.broker === null ? 'no broker accepted clients' : c.broker + ' accepted clients';
  }

  // Legend.
  let lx = L;
  const ly = H - 8;
  const entry = (cls, label, shape) => {
    if (shape === 'line') add('line', { x1: lx, y1: ly - 4, x2: lx + 18, y2: ly - 4, class: cls });
    else add('rect', { x: lx, y: ly - 10, width: 18, height: 10, class: cls });
    const t = add('text', { x: lx + 22, y: ly, class: 'tick legend' }, label);
    lx += 30 + t.getBBox().width;
  };
  data.series.forEach((s, i) => entry('lag series-' + i, s.name, 'line'));
  if (data.threshold) entry('threshold', 'lag alarm threshold', 'line');
  if (data.clients.length) entry('clients none', 'no broker accepting clients', 'rect');
  svg.dataset.rendered = String(all.length);
})();
`;

/** The status column: a failed redirection says so rather than only the operation's COMPLETED. */
const statusOf = (d: Decision): string => (d.action === 'REDIRECT_FAILED' ? `${d.status}; clients NOT redirected` : d.status);

export function renderReport(input: ReportInput): string {
  const gaps = input.series.flatMap((series) =>
    series.points.slice(1).map((p, i) => p.at - (series.points[i] as ReplicationPoint).at),
  );
  const periodMs = gaps.length > 0 ? Math.min(...gaps) : 60_000;
  // The chart draws QueueSize, a count that drains to zero; a minute without it is left out.
  const data = {
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
        `<tr class="${escapeHtml(d.action)}"><td>${iso(d.at)}</td><td>${escapeHtml(d.event)}</td><td>${escapeHtml(d.action)}${d.dryRun ? ' (dry run)' : ''}</td><td>${escapeHtml(statusOf(d))}</td><td>${escapeHtml(d.reason)}</td></tr>`,
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
<script>${DRAW}</script>
</body>
</html>
`;
}
