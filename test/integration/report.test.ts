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
    const lag = Array.from({ length: 30 }, (_, i) => ({ at: T0 + i * 20_000, value: i < 15 ? i * 200 : 0 }));
    const timeline = [
      decision(2, 'START_SWITCHOVER', 'alarm orders-replication-lag OK→ALARM', 'SWITCHOVER_REQUESTED'),
      decision(7, 'ESCALATE_TO_FAILOVER', 'deadline of op-1', 'FAILOVER_REQUESTED'),
      decision(8, 'COMPLETE', 'sweep', 'COMPLETED'),
    ];
    const html = renderReport({
      title: 'Disaster drill "failover"',
      pairId: 'orders',
      generatedAt: T0 + 600_000,
      lag,
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
    expect(dom).not.toContain('<b>not markup</b>');
  }, 90_000);

  it('keeps a gap in the line where no datapoints were published (the primary Region was down)', async () => {
    const lag = [0, 1, 2, 3, 20, 21, 22].map((m) => ({ at: T0 + m * 60_000, value: m * 10 }));
    const html = renderReport({ title: 't', pairId: 'orders', generatedAt: T0, lag, markers: [], timeline: [], summary: [] });
    const dom = await domOf(html);
    expect(dom.match(/<polyline /g)).toHaveLength(2);
  }, 90_000);
});
