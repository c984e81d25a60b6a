/**
 * A Promote whose answer was lost is re-sent by the sweep. It must never go out once the pair view shows a
 * promotion since the operation started: that re-send would reverse the pair's newer choice, an operator's
 * promotion among them (issue: an operator fails over to us-west-2, Amazon MQ acts but the answer is lost; the
 * operator then switches back to us-east-1; us-west-2's sweep re-sent the FAILOVER three minutes later).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '#cli/client.ts';
import { alarmStateChangeEvent, LOCAL_CREDENTIALS, ManualClock, PRIMARY_REGION, REPLICA_REGION } from '#simulator/embedded.ts';
import { PairDriver, type PairRegion, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
let pair: TwoRegions | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const apiOf = (p: TwoRegions, region: PairRegion) =>
  new ApiClient({ endpoint: p.stacks[region].apiEndpoint, region, credentials: LOCAL_CREDENTIALS, attempts: 1 });

async function lostAnswerThenOperatorBack(start: 'operator' | 'alarm', skewMs = 0) {
  const clock = new ManualClock(T0);
  pair = await startTwoRegions({ clock });
  const p = pair;
  p.skewMs[REPLICA_REGION] = skewMs;
  const driver = new PairDriver(p, clock);
  await driver.play(30_000);
  // us-west-2 promotes its broker; Amazon MQ acts, but the answer is lost (a 500 after acting).
  p.world.injectFault('Promote', 'lost-response', 1);
  if (start === 'operator') {
    await apiOf(p, REPLICA_REGION)
      .request('FAILOVER', p.pairName, { reason: 'drill', confirm: p.pairName })
      .catch(() => undefined);
  } else {
    await driver.record(
      REPLICA_REGION,
      'onAlarm',
      p.stacks[REPLICA_REGION].invoke.onAlarm(
        alarmStateChangeEvent(p.alarmName, 'ALARM', 'OK', clock.now(), 'lag', PRIMARY_REGION),
      ),
    );
  }
  await driver.play(50_000);
  expect(p.world.roles(p.pairName).primary.region).toBe(REPLICA_REGION);
  // An operator moves the primary back to us-east-1.
  const back = await apiOf(p, PRIMARY_REGION).request('SWITCHOVER', p.pairName, { reason: 'back east' });
  expect(back.request.action).toBe('START_SWITCHOVER');
  await driver.play(8 * MIN);
  return { p, driver };
}

describe('a re-sent Promote never reverses a later promotion', () => {
  it.each([
    ['an operator', 'operator', 0],
    ['the lag alarm', 'alarm', 0],
    ['an operator, us-west-2 clock 55 s ahead', 'operator', 55_000],
    ['the lag alarm, us-west-2 clock 55 s ahead', 'alarm', 55_000],
  ] as const)(
    'started by %s: us-east-1 stays the primary',
    async (_name, start, skew) => {
      const { p, driver } = await lostAnswerThenOperatorBack(start, skew);
      if (process.env.DEBUG_PAIR) {
        console.log(p.world.promoteLog);
        for (const e of driver.log)
          console.log(e.t / 1000, e.region, e.via, e.decision.action, e.decision.status, e.decision.reason.slice(0, 160));
      }
      expect(p.world.roles(p.pairName).primary.region).toBe(PRIMARY_REGION);
      expect(p.world.promoteLog.map((x) => x.region)).toEqual([REPLICA_REGION, PRIMARY_REGION]);
      const west = driver.log.filter((e) => e.region === REPLICA_REGION).map((e) => e.decision.action);
      expect(west).not.toContain('RETRY_PROMOTE');
    },
    60_000,
  );
});
