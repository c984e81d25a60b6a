/// <reference lib="dom" />
/**
 * The report's chart, drawn in the browser: a type-checked module whose one function the report inlines as its
 * script (report.ts, `drawChart.toString()`). It must stay self-contained: no imports, nothing from the module's
 * scope, only the browser's globals and the data embedded in the page.
 *
 * Draws the chart into #chart from #report-data. Hand-drawn SVG (about a hundred lines)
 * rather than a charting library inlined into every report: the chart is one kind of plot, and the report
 * must stay a small self-contained file. Axes get round ticks (1, 2 or 5 times a power of ten; whole minutes),
 * each broker its own coloured series in the legend, the alarm threshold a line, who accepted clients a band
 * under the axis, and marker labels rows of their own where they would overlap. Each label records the box
 * Chromium measured for it (data-box), as every other text does (ticks, the axis title, the legend), so that a test
 * can check that no two overlap.
 */
export interface ChartData {
  series: Array<{ name: string; points: Array<{ at: number; value: number }> }>;
  markers: Array<{ at: number; kind: string; label: string }>;
  periodMs: number;
  threshold: number | null;
  clients: Array<{ from: number; to: number; broker: string | null }>;
}

export function drawChart(): void {
  const data = JSON.parse(document.getElementById('report-data')?.textContent ?? '{}') as ChartData;
  const svg = document.getElementById('chart') as unknown as SVGSVGElement;
  const ns = 'http://www.w3.org/2000/svg';
  const W = 960,
    L = 70,
    R = 20,
    ROW = 14;
  const all = data.series.flatMap((s) => s.points);
  const times = all
    .map((p) => p.at)
    .concat(
      data.markers.map((m) => m.at),
      data.clients.flatMap((c) => [c.from, c.to]),
    );
  if (times.length === 0) {
    svg.dataset.rendered = 'empty';
    return;
  }
  const add = (tag: string, attrs: Record<string, string | number>, text?: string, parent?: Element): SVGGraphicsElement => {
    const el = document.createElementNS(ns, tag) as SVGGraphicsElement;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    (parent || svg).appendChild(el);
    return el;
  };
  const t0 = Math.min(...times),
    t1 = Math.max(...times, t0 + 60000);
  const x = (t: number): number => L + ((t - t0) / (t1 - t0)) * (W - L - R);

  // Marker labels first: greedy rows, measured by the browser, so that the plot starts below the last row.
  const labels = add('g', { class: 'labels' });
  const rows: number[] = [];
  const placed = data.markers
    .slice()
    .sort((a, b) => a.at - b.at)
    .map((m) => {
      const text = add('text', { x: x(m.at) + 3, y: 0, class: `label ${m.kind}` }, m.label, labels);
      const width = text.getBBox().width;
      const left = x(m.at) + 3;
      let row = rows.findIndex((end) => end + 6 <= left);
      if (row < 0) {
        row = rows.length;
        rows.push(0);
      }
      rows[row] = left + width;
      return { m, text, row };
    });
  // A row of its own for the axis title, between the marker labels and the plot: it never meets the top tick.
  const T = 16 + rows.length * ROW + ROW,
    PLOT = 260,
    BAND = 18,
    AXIS = 30,
    LEGEND = 22;
  const H = T + PLOT + BAND + AXIS + LEGEND;
  svg.setAttribute('height', String(H));
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const bottom = T + PLOT;
  for (const { m, text, row } of placed) {
    text.setAttribute('y', String(12 + row * ROW));
    add('line', { x1: x(m.at), y1: 14 + row * ROW, x2: x(m.at), y2: bottom, class: `marker ${m.kind}` });
  }

  // Round ticks: a step of 1, 2 or 5 times a power of ten for the lag, whole minutes for the time.
  const nice = (span: number, count: number): number => {
    const raw = span / count,
      p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
  };
  const top = Math.max(1, data.threshold || 0, ...all.map((p) => p.value)) * 1.08;
  const vstep = nice(top, 5),
    vmax = Math.ceil(top / vstep) * vstep;
  const y = (v: number): number => bottom - (v / vmax) * PLOT;
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
    add(
      'text',
      { x: x(t), y: bottom + BAND + 16, 'text-anchor': 'middle', class: 'tick xtick' },
      new Date(t).toISOString().slice(11, 16),
    );
  }
  add('text', { x: 4, y: T - 12, class: 'tick axis-title' }, 'events not replicated (QueueSize)');

  // The alarm threshold.
  if (data.threshold) {
    add('line', { x1: L, y1: y(data.threshold), x2: W - R, y2: y(data.threshold), class: 'threshold' });
    add(
      'text',
      { x: W - R - 4, y: y(data.threshold) - 4, 'text-anchor': 'end', class: 'tick threshold-label' },
      `lag alarm ${data.threshold.toLocaleString('en')}`,
    );
  }

  // One series per broker; gaps (no datapoints while a Region is down) stay gaps.
  data.series.forEach((s, i) => {
    let run: string[] = [];
    const flush = () => {
      if (run.length) add('polyline', { points: run.join(' '), class: `lag series-${i}` });
      run = [];
    };
    s.points.forEach((p, j) => {
      const previous = s.points[j - 1];
      if (previous && p.at - previous.at > 3 * data.periodMs) flush();
      run.push(`${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`);
    });
    flush();
  });

  // Who accepted clients: a band under the axis.
  const brokers = data.series.map((s) => s.name);
  for (const c of data.clients) {
    const i = c.broker === null ? -1 : brokers.indexOf(c.broker);
    add(
      'rect',
      {
        x: x(c.from),
        y: bottom + 3,
        width: Math.max(1, x(c.to) - x(c.from)),
        height: BAND - 6,
        class: c.broker === null ? 'clients none' : `clients series-fill-${i < 0 ? 'x' : i}`,
      },
      undefined,
    ).appendChild(document.createElementNS(ns, 'title')).textContent =
      c.broker === null ? 'no broker accepted clients' : `${c.broker} accepted clients`;
  }

  // Legend.
  let lx = L;
  const ly = H - 8;
  const entry = (cls: string, label: string, shape: 'line' | 'rect') => {
    if (shape === 'line') add('line', { x1: lx, y1: ly - 4, x2: lx + 18, y2: ly - 4, class: cls });
    else add('rect', { x: lx, y: ly - 10, width: 18, height: 10, class: cls });
    const t = add('text', { x: lx + 22, y: ly, class: 'tick legend' }, label);
    lx += 30 + t.getBBox().width;
  };
  data.series.forEach((s, i) => {
    entry(`lag series-${i}`, s.name, 'line');
  });
  if (data.threshold) entry('threshold', 'lag alarm threshold', 'line');
  if (data.clients.length) entry('clients none', 'no broker accepting clients', 'rect');
  // Every text's box as Chromium measured it: the test checks that no two overlap.
  for (const text of Array.from(svg.querySelectorAll('text'))) {
    const b = text.getBBox();
    text.dataset.box = [b.x, b.y, b.width, b.height].map((n) => n.toFixed(1)).join(',');
  }
  svg.dataset.rendered = String(all.length);
}
