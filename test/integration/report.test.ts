/**
 * The drill report opens in a real browser: Debian's chromium, headless, runs the report's inline script and
 * the DOM it leaves behind shows the chart drawn (one lag line point per datapoint, each decision marked).
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { markersOf, renderReport } from '#cli/report.ts';
import type { Decision } from '#lib/core/model.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const T0 = Date.parse('2026-11-23T09:00:00Z');

const decision = (minute: number, action: Decision['action'], event: string, status: Decision['status']): Decision => ({
  at: T0 + minute * 60_000,
  event,
  action,
  reason: `reason of ${action} <b>not markup</b>`,
  status,
  operationId: 'op-1',
});

async function domOf(html: string): Promise<string> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'report-'));
  const file = join(dir, 'report.html');
  await writeFile(file, html);
  const { stdout } = await promisify(execFile)(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--dump-dom',
      `file://${file}`,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

describe('drill report in headless Chromium', () => {
  it('draws the lag line and marks the alarm, switchover, deadline, failover and recovery', async () => {
    const lag = Array.from({ length: 30 }, (_, i) => ({ at: T0 + i * 20_000, local: false, events: i < 15 ? i * 200 : 0 }));
    const timeline = [
      decision(2, 'START_SWITCHOVER', 'alarm orders-replication-lag OK→ALARM', 'SWITCHOVER_REQUESTED'),
      decision(7, 'ESCALATE_TO_FAILOVER', 'deadline of op-1', 'FAILOVER_REQUESTED'),
      decision(8, 'COMPLETE', 'sweep', 'COMPLETED'),
      { ...decision(9, 'COUNT_PROBE', 'probe', 'COMPLETED'), reason: `primary unhealthy (1/3): ${'x'.repeat(400)}` },
    ];
    const html = renderReport({
      title: 'Disaster drill "failover"',
      pairId: 'orders',
      generatedAt: T0 + 600_000,
      series: [{ name: 'orders-primary (us-east-1)', points: lag }],
      markers: markersOf(timeline, 300_000),
      timeline,
      summary: [['time to recovery', '365 s']],
    });

    const dom = await domOf(html);
    expect(dom).toContain('data-rendered="30"');
    const points = /<polyline points="([^"]+)"/.exec(dom)?.[1]?.split(' ') ?? [];
    expect(points).toHaveLength(30);
    // The first point is at the left edge and at the bottom (lag 0); the peak is higher up (smaller y).
    const ys = points.map((p) => Number(p.split(',')[1]));
    expect(Math.min(...ys)).toBeLessThan(ys[0] as number);
    for (const kind of ['alarm', 'switchover', 'deadline', 'failover', 'recovered']) {
      expect(dom).toContain(`class="marker ${kind}"`);
    }
    expect(dom).toContain('&lt;b&gt;not markup&lt;/b&gt;');
    // A long reason folds: its beginning in the row, the whole of it one click away.
    expect(dom).toMatch(
      /<details><summary>primary unhealthy \(1\/3\): x{135}…<\/summary>primary unhealthy \(1\/3\): x{400}<\/details>/,
    );
    expect(dom).not.toContain('<b>not markup</b>');
  }, 90_000);

  it('keeps a gap in the line where no datapoints were published (the primary Region was down)', async () => {
    const lag = [0, 1, 2, 3, 20, 21, 22].map((m) => ({ at: T0 + m * 60_000, local: false, events: m * 10 }));
    const html = renderReport({
      title: 't',
      pairId: 'orders',
      generatedAt: T0,
      series: [{ name: 'b', points: lag }],
      markers: [],
      timeline: [],
      summary: [],
    });
    const dom = await domOf(html);
    expect(dom.match(/<polyline /g)).toHaveLength(2);
  }, 90_000);
});

describe('the chart a person reads', () => {
  it('one series per broker with a legend, the alarm threshold, round ticks, who took clients, labels that never overlap', async () => {
    const primary = Array.from({ length: 20 }, (_, i) => ({ at: T0 + i * 20_000, local: false, events: i * 137 }));
    const replica = Array.from({ length: 10 }, (_, i) => ({ at: T0 + 420_000 + i * 20_000, local: true, events: 900 - i * 90 }));
    // Six markers within 40 seconds: labels that would all overlap on one line.
    const timeline = [
      decision(2, 'START_SWITCHOVER', 'alarm orders-replication-lag OK→ALARM', 'SWITCHOVER_REQUESTED'),
      { ...decision(2, 'HOLD_ESCALATION', 'operator holds', 'SWITCHOVER_IN_PROGRESS'), at: T0 + 130_000 },
      { ...decision(2, 'RELEASE_ESCALATION', 'operator releases', 'SWITCHOVER_IN_PROGRESS'), at: T0 + 140_000 },
      { ...decision(2, 'ESCALATE_TO_FAILOVER', 'deadline', 'FAILOVER_REQUESTED'), at: T0 + 150_000 },
      { ...decision(2, 'COMPLETE', 'watch', 'COMPLETED'), at: T0 + 160_000 },
      decision(3, 'REDIRECT_FAILED', 'client redirection failed', 'COMPLETED'),
    ];
    const html = renderReport({
      title: 'report',
      pairId: 'orders',
      generatedAt: T0 + 620_000,
      series: [
        { name: 'orders-primary (us-east-1)', points: primary },
        { name: 'orders-replica (us-west-2)', points: replica },
      ],
      threshold: 1_000,
      clients: [
        { from: T0, to: T0 + 120_000, broker: 'orders-primary (us-east-1)' },
        { from: T0 + 120_000, to: T0 + 160_000, broker: null },
        { from: T0 + 160_000, to: T0 + 620_000, broker: 'orders-replica (us-west-2)' },
      ],
      markers: [...markersOf(timeline, 300_000), { at: T0 + 125_000, kind: 'incident', label: 'us-east-1 goes down' }],
      timeline,
      summary: [],
    });
    const dom = await domOf(html);
    // Two series, each its own line and legend entry; the threshold line and its legend entry.
    expect(dom).toContain('class="lag series-0"');
    expect(dom).toContain('class="lag series-1"');
    for (const legend of ['orders-primary (us-east-1)', 'orders-replica (us-west-2)', 'lag alarm threshold']) {
      expect(dom).toMatch(new RegExp(`class="tick legend"[^>]*>${legend.replace(/[()]/g, '\\$&')}</text>`));
    }
    expect(dom).toContain('class="threshold"');
    // Round ticks: 1, 2 or 5 times a power of ten; whole minutes.
    const yticks = [...dom.matchAll(/class="tick ytick"[^>]*>([\d,]+)</g)].map((m) => Number(m[1]?.replace(/,/g, '')));
    const step = (yticks[1] ?? 0) - (yticks[0] ?? 0);
    expect(yticks[0]).toBe(0);
    expect(String(step)).toMatch(/^[125]0*$/);
    const xticks = [...dom.matchAll(/class="tick xtick"[^>]*>(\d\d:\d\d)</g)].map((m) => m[1]);
    expect(xticks.length).toBeGreaterThanOrEqual(3);
    const mins = xticks.map((t) => Number(t?.slice(0, 2)) * 60 + Number(t?.slice(3)));
    const tstep = (mins[1] ?? 0) - (mins[0] ?? 0);
    expect([1, 2, 5, 10, 15, 30, 60]).toContain(tstep);
    for (const m of mins) expect(m % tstep).toBe(0);
    // The band: the old primary, nobody, the new primary.
    expect(dom.match(/class="clients series-fill-0"/g)).toHaveLength(1);
    expect(dom.match(/class="clients none"/g)?.length).toBeGreaterThanOrEqual(1);
    expect(dom.match(/class="clients series-fill-1"/g)).toHaveLength(1);
    // Every text (marker labels, ticks, the axis title, the threshold's label, the legend): the boxes Chromium
    // measured do not overlap.
    const boxes = [...dom.matchAll(/data-box="([\d.,-]+)"/g)].map(
      (m) => (m[1] as string).split(',').map(Number) as [number, number, number, number],
    );
    expect(boxes.length).toBe((dom.match(/<text /g) ?? []).length);
    expect(boxes.length).toBeGreaterThan(7 + yticks.length + xticks.length);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
        expect(overlap, `${a} and ${b}`).toBe(false);
      }
    }
    // A failed redirection is highlighted and says so.
    expect(dom).toMatch(/<tr class="REDIRECT_FAILED">.*COMPLETED; clients NOT redirected/);
  }, 90_000);
});
