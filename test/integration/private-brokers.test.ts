/**
 * Private brokers: the health check probes the primary's endpoints from the replica's Region, which a private
 * broker does not let it reach unless the function is attached to a VPC with a route. Under the default
 * PROBE_ENDPOINTS=auto, endpoints that have never answered from here are no evidence: a healthy private pair is
 * left alone (one notification names the fix), while an API that stops answering still counts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '#lib/core/model.ts';
import { type Embedded, ManualClock, PRIMARY_REGION, startEmbedded } from '#simulator/embedded.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;

let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** Runs the health check and the sweep every minute for `minutes`; `at` scripts faults by minute. */
async function run(
  settings: Record<string, string>,
  minutes: number,
  at: (minute: number, e: Embedded) => void = () => undefined,
) {
  const clock = new ManualClock(T0);
  const decisions: Decision[] = [];
  const e = await startEmbedded({ clock, env: settings, onScheduledResult: (r) => decisions.push(...r.decisions) });
  env = e;
  e.world.setEndpointsPrivate(e.primary.id, true);
  for (let minute = 1; minute <= minutes; minute++) {
    clock.advance(T0 + minute * MIN - clock.now());
    at(minute, e);
    await e.world.syncListeners();
    await e.scheduler.runDue();
    decisions.push(...(await e.invoke.healthCheck()).decisions, ...(await e.invoke.escalate({ kind: 'sweep' })).decisions);
  }
  return { e, decisions };
}

describe('a private pair with no network path between the Regions', () => {
  it('PROBE_ENDPOINTS=auto: 0 promotions over a simulated 24 h, and one notification naming the fix', async () => {
    const { e, decisions } = await run({}, 24 * 60);
    expect(e.world.promoteLog).toEqual([]);
    expect(decisions.map((d) => d.action)).toEqual(['PROBLEM']);
    expect(e.world.published).toHaveLength(1);
    expect(e.world.published[0]?.message).toMatch(
      /never answered a handshake from this Region .*brokers\[\]\.vpc.*PROBE_ENDPOINTS=off/,
    );
  }, 120_000);

  it('PROBE_ENDPOINTS=on (every handshake counts): the healthy pair is switched over within minutes', async () => {
    const { e } = await run({ PROBE_ENDPOINTS: 'on' }, 10);
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER']);
  });

  it('an API that stops answering still counts: the outage gets a primary (at the deadline: the endpoints are no evidence of a Region out)', async () => {
    const { e, decisions } = await run({ DEADLINE_SECONDS: '300' }, 15, (minute, env) => {
      if (minute === 3) env.world.setRegionUp(PRIMARY_REGION, false);
    });
    expect(decisions.find((d) => d.action === 'START_SWITCHOVER')?.reason).toMatch(/3 consecutive probes/);
    expect(['deadline', 'sweep']).toContain(decisions.find((d) => d.action === 'ESCALATE_TO_FAILOVER')?.escalatedBy);
    expect(e.world.roles(e.pairName).primary.id).toBe(e.replica.id);
  }, 60_000);
});

describe('endpoints that have answered before', () => {
  it('count when they stop answering (auto), and never under PROBE_ENDPOINTS=off', async () => {
    for (const [mode, promotions] of [
      ['auto', ['SWITCHOVER']],
      ['off', []],
    ] as const) {
      const { e, decisions } = await run({ PROBE_ENDPOINTS: mode }, 10, (minute, env) => {
        // Reachable at first (the function's VPC has a route), then the broker's endpoints stop answering.
        if (minute === 1) env.world.setEndpointsPrivate(env.primary.id, false);
        if (minute === 4) env.world.setEndpointsUp(env.primary.id, false);
      });
      expect(e.world.promoteLog.map((p) => p.mode)).toEqual(promotions);
      expect(decisions.filter((d) => d.action === 'ENDPOINTS_REACHED')).toHaveLength(mode === 'auto' ? 1 : 0);
      await e.close();
      env = undefined;
    }
  }, 60_000);
});
