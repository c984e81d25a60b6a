/**
 * The Amazon MQ API budget: every DescribeBroker and Promote of every pair, in both Regions, comes out of one
 * account-wide 15 requests/s (lib/mq-facts.ts MQ_API_BUDGET). Both Regions' stacks of one pair, at rest for 30
 * minutes and then through a switchover, counted on the simulator's wire; the figures are in
 * docs/aws-facts.md. A pair at rest must leave room for 20 pairs and the operators: 20 pairs at rest, the
 * replica's Region probing every 15 s (PROBE_INTERVAL_SECONDS; the primary's, whose probes decide nothing, once a
 * minute), take at most a third of the budget, so that two thirds stay for operations, operators and everything
 * else.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MQ_API_BUDGET } from '#lib/mq-facts.ts';
import { describeCallsAtRest, READINESS_SCHEDULE_MS } from '#lib/orchestrator.ts';
import { ManualClock } from '#simulator/embedded.ts';
import { PairDriver, REGIONS, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
let pair: TwoRegions | undefined;
afterAll(async () => pair?.close());

/** What AWS runs for the deployed pair: the driver's minute, and the readiness evaluation every 10 minutes in each Region. */
const playDeployed = (driver: PairDriver, untilMs: number) =>
  driver.play(untilMs, (t) => {
    if (t % READINESS_SCHEDULE_MS !== 0) return;
    for (const r of REGIONS) void driver.record(r, 'readiness', driver.pair.stacks[r].invoke.readiness());
  });

describe('Amazon MQ API calls of one pair (both Regions)', () => {
  it('at rest and during a switchover, within the share 20 pairs leave each', async () => {
    const clock = new ManualClock(T0);
    // Producers outrun the link 3 to 1 from minute 30: the replication alarm starts a switchover.
    pair = await startTwoRegions({ clock, pair: { produceRate: 50, drainRate: 100 } });
    const driver = new PairDriver(pair, clock);
    const world = pair.world;
    const perMinute = (from: number, to: number) => {
      const calls = world.apiCalls.filter((c) => c.at >= T0 + from && c.at < T0 + to);
      const by = (op: string) => calls.filter((c) => c.operation === op).length / ((to - from) / MIN);
      return { DescribeBroker: by('DescribeBroker'), Promote: by('Promote'), total: calls.length / ((to - from) / MIN) };
    };
    await playDeployed(driver, 30 * MIN);
    // Two readiness runs (minutes 10 and 20) in the window, as in any 20 minutes.
    const rest = perMinute(MIN, 21 * MIN);
    world.setProduceRate(pair.pairName, 300);
    await playDeployed(driver, 60 * MIN);
    const started = driver.log.find((e) => e.decision.action === 'START_SWITCHOVER');
    const completed = driver.log.find((e) => e.decision.action === 'COMPLETE');
    expect(started && completed).toBeTruthy();
    const during = perMinute(started?.t ?? 0, (completed?.t ?? 0) + 5_000);
    const operationMinutes = ((completed?.t ?? 0) - (started?.t ?? 0)) / MIN;
    console.log(
      `Amazon MQ API calls of one pair, both Regions: at rest ${rest.DescribeBroker.toFixed(1)} DescribeBroker/min ` +
        `(${(rest.total / 60).toFixed(3)}/s); during a ${operationMinutes.toFixed(1)}-minute switchover ${during.DescribeBroker.toFixed(1)} DescribeBroker/min, ` +
        `${during.Promote.toFixed(2)} Promote/min (${(during.total / 60).toFixed(3)}/s); 20 pairs at rest: ${((20 * rest.total) / 60).toFixed(2)}/s of ${MQ_API_BUDGET.requestsPerSecond}/s`,
    );
    // 20 pairs at rest use at most a third of the account's budget.
    expect((20 * rest.total) / 60).toBeLessThanOrEqual(MQ_API_BUDGET.requestsPerSecond / 3);
    expect(rest.Promote).toBe(0);
    // What readiness's api-budget check tells the operator is what the wire shows.
    expect(rest.DescribeBroker).toBeCloseTo(describeCallsAtRest(15_000), 6);
    // An operation in flight costs more (the watch), and one pair's still leaves nearly all of the budget.
    expect(during.total / 60).toBeLessThanOrEqual(MQ_API_BUDGET.requestsPerSecond / 10);
  }, 120_000);

  it.each([
    ['30', 8.6],
    ['60', 6.6],
    ['10', 16.6],
  ])(
    'at rest with PROBE_INTERVAL_SECONDS=%s: %d DescribeBroker calls a minute (readiness included), as its api-budget check counts them',
    async (interval, calls) => {
      const clock = new ManualClock(T0);
      const p = await startTwoRegions({ clock, env: { PROBE_INTERVAL_SECONDS: interval } });
      try {
        await playDeployed(new PairDriver(p, clock), 11 * MIN);
        const counted = p.world.apiCalls.filter(
          (c) => c.operation === 'DescribeBroker' && c.at >= T0 + MIN && c.at < T0 + 11 * MIN,
        );
        expect(counted.length / 10).toBeCloseTo(calls, 6);
        expect(describeCallsAtRest(Number(interval) * 1000)).toBeCloseTo(calls, 6);
      } finally {
        await p.close();
      }
    },
    60_000,
  );
});
