/**
 * Both Regions' orchestrators over one simulated pair, as deployed (simulator/two-regions.ts): each Region's
 * probes and sweep every minute, each with its own table. A Region that is down runs no Lambda.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, PRIMARY_REGION, REPLICA_REGION } from '#simulator/embedded.ts';
import { startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
let pair: TwoRegions | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** Plays AWS's schedules in both Regions until `until` (ms after T0); `at` scripts the incident. */
async function play(p: TwoRegions, clock: ManualClock, until: number, at: (t: number) => void = () => undefined) {
  const decisions: Array<{ region: string; action: string }> = [];
  for (let t = Math.ceil((clock.now() - T0) / 5_000) * 5_000; t <= until; t += 5_000) {
    if (clock.now() < T0 + t) clock.advance(T0 + t - clock.now());
    at(t);
    await p.world.syncListeners();
    for (const stack of Object.values(p.stacks)) {
      if (p.world.isRegionUp(stack.region)) await stack.scheduler.runDue();
    }
    if (t % MIN !== 0) continue;
    const running = Object.values(p.stacks).filter((s) => p.world.isRegionUp(s.region));
    const results = await Promise.all(running.flatMap((s) => [s.invoke.healthCheck(), s.invoke.escalate({ kind: 'sweep' })]));
    for (const [i, r] of results.entries()) {
      const region = running[Math.floor(i / 2)]?.region ?? '?';
      decisions.push(...r.decisions.map((d) => ({ region, action: d.action })));
    }
  }
  return decisions;
}

describe('both Regions deployed', () => {
  it('a healthy pair: neither Region decides anything; the primary Region’s stack sees its broker is the primary', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock });
    const decisions = await play(pair, clock, 5 * MIN);
    expect(decisions).toEqual([]);
    expect(pair.world.promoteLog).toEqual([]);
  });

  it('the primary Region goes down and comes back as the replica: one failover, and its own stack does not promote back', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock });
    const decisions = await play(pair, clock, 15 * MIN, (t) => {
      if (t === MIN + 5_000) pair?.world.setRegionUp(PRIMARY_REGION, false);
      if (t === 8 * MIN) pair?.world.setRegionUp(PRIMARY_REGION, true);
    });
    expect(pair.world.promoteLog.map((p) => `${p.region} ${p.mode}`)).toEqual([
      `${REPLICA_REGION} SWITCHOVER`,
      `${REPLICA_REGION} FAILOVER`,
    ]);
    expect(pair.world.roles(pair.pairName).primary.region).toBe(REPLICA_REGION);
    // Back as the replica, us-east-1 probes the new primary in us-west-2, finds it healthy, and decides nothing.
    expect(decisions.filter((d) => d.region === PRIMARY_REGION)).toEqual([]);
  });
});
