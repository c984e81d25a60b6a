/**
 * Both Regions' orchestrators over one simulated pair, as deployed (simulator/two-regions.ts): each Region's
 * alarm, probes and sweep every minute, each with its own table, the pair view replicated between the
 * Regions' tables, the operator API of each Region over SigV4. A Region that is down runs no Lambda.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '#cli/client.ts';
import { formatView } from '#cli/mqdr.ts';
import { parseFailoverUrl } from '#dedup/broker-urls.ts';
import { alarmStateChangeEvent, LOCAL_CREDENTIALS, ManualClock, PRIMARY_REGION, REPLICA_REGION } from '#simulator/embedded.ts';
import { PairDriver, type PairRegion, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';
import { reconcileCommand } from '../../scripts/pair-drill.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../support/dynamo-faults.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
let pair: TwoRegions | undefined;
const proxies: DynamoFaultProxy[] = [];
afterEach(async () => {
  await pair?.close();
  pair = undefined;
  for (const p of proxies.splice(0)) await p.close();
});

const apiOf = (p: TwoRegions, region: PairRegion) =>
  new ApiClient({ endpoint: p.stacks[region].apiEndpoint, region, credentials: LOCAL_CREDENTIALS, attempts: 1 });
const promotions = (p: TwoRegions) => p.world.promoteLog.map((x) => `${x.region} ${x.mode}`);
const actions = (d: PairDriver, region: PairRegion) => d.log.filter((e) => e.region === region).map((e) => e.decision.action);

/** Each Region's stack behind its own fault proxy: a Region's tables can be taken down. */
async function withProxies(clock: ManualClock, options: Parameters<typeof startTwoRegions>[0] = { clock }) {
  const byRegion = new Map<PairRegion, DynamoFaultProxy>();
  const p = await startTwoRegions({
    ...options,
    clock,
    dynamoEndpoint: async (region, endpoint) => {
      const proxy = await startDynamoFaultProxy(endpoint);
      proxies.push(proxy);
      byRegion.set(region, proxy);
      return proxy.endpoint;
    },
  });
  return { p, proxy: (region: PairRegion) => byRegion.get(region) as DynamoFaultProxy };
}

/** Where break glass is needed: a minute in, us-east-1 (the primary's Region) down, us-west-2's state table failing. */
async function primaryGoneTableDown() {
  const clock = new ManualClock(T0);
  const { p, proxy } = await withProxies(clock);
  pair = p;
  const driver = new PairDriver(p, clock);
  await driver.play(MIN);
  p.world.setRegionUp(PRIMARY_REGION, false);
  proxy(REPLICA_REGION).setTableDown(`crdr-orchestrator-${REPLICA_REGION}`, 'fail');
  return { p, proxy, driver, west: apiOf(p, REPLICA_REGION) };
}

describe('both Regions deployed', () => {
  it('a healthy pair: each Region records its broker’s role once, then decides nothing', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock });
    const driver = new PairDriver(pair, clock);
    await driver.play(5 * MIN);
    // Stacks that ran before (their records know their brokers' roles): only the probe's first handshake is news.
    expect(driver.log.map((e) => `${e.t} ${e.region} ${e.decision.action}`)).toEqual([`0 ${REPLICA_REGION} ENDPOINTS_REACHED`]);
    expect(driver.failures).toEqual([]);
    expect(pair.world.promoteLog).toEqual([]);
  });

  it('new stacks (no history of their brokers’ roles) promote nothing automatically until the view shows the other Region writing since', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock, history: false });
    const p = pair;
    const driver = new PairDriver(p, clock);
    await driver.play(MIN);
    expect(
      driver.log
        .filter((e) => e.decision.action === 'ROLE_OBSERVED')
        .map((e) => e.region)
        .sort(),
    ).toEqual([PRIMARY_REGION, REPLICA_REGION]);
    // us-east-1 goes down at once: us-west-2 cannot tell whether the view it reads is current. It waits, says why
    // once, and an operator can still promote.
    p.world.setRegionUp(PRIMARY_REGION, false);
    await driver.play(12 * MIN);
    expect(p.world.promoteLog).toEqual([]);
    const west = driver.log.filter((e) => e.region === REPLICA_REGION).map((e) => e.decision);
    expect(west.filter((d) => d.action === 'REFUSE').map((d) => d.code)).toEqual(['VIEW_NOT_CONFIRMED']);
    expect(p.world.published.filter((m) => m.subject?.includes('refused'))).toHaveLength(1);
    // us-east-1 is back: its next write is seen, and us-west-2 judges as a stack with history would.
    p.world.setRegionUp(PRIMARY_REGION, true);
    await driver.play(16 * MIN);
    const view = await apiOf(p, REPLICA_REGION).pair(p.pairName);
    expect(view.pairWide?.arming).toEqual({ armed: true });
    const answer = await apiOf(p, REPLICA_REGION).request('FAILOVER', p.pairName, { reason: 'by hand', confirm: p.pairName });
    expect(answer.request.action).toBe('START_FAILOVER');
  });

  it('the wait never holds back a Region that has its history: us-east-1 down from the start still gets a primary', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock });
    const p = pair;
    const driver = new PairDriver(p, clock);
    p.world.setRegionUp(PRIMARY_REGION, false);
    await driver.play(12 * MIN);
    // The switchover starts on the third failed probe (15 s apart), and the deadline fails over (the endpoints
    // never answered from here, so they are no evidence of a Region out: PROBE_ENDPOINTS=auto).
    expect(driver.log.find((e) => e.decision.action === 'START_SWITCHOVER')?.t).toBe(30_000);
    expect(p.world.roles(p.pairName).primary.region).toBe(REPLICA_REGION);
  });

  it('fail-back: after an automatic failover the old Region comes back; a stale alarm and failing probes promote nothing back, an operator fails back', async () => {
    const clock = new ManualClock(T0);
    // Every failed handshake counts (PROBE_ENDPOINTS=on): us-east-1 never reached the new primary's endpoints
    // before (it was the replica then), and under auto their silence would be no evidence at all.
    pair = await startTwoRegions({ clock, env: { PROBE_ENDPOINTS: 'on' } });
    const p = pair;
    const driver = new PairDriver(p, clock);
    const oldPrimary = p.stacks[PRIMARY_REGION].local;
    const newPrimary = p.stacks[REPLICA_REGION].local;
    await driver.play(15 * MIN, (t) => {
      if (t === MIN + 5_000) p.world.setRegionUp(PRIMARY_REGION, false);
      if (t === 2 * MIN) {
        // us-west-2's lag alarm fired while us-east-1 was down: EventBridge delivers it when that Region is back.
        driver.queueAlarm(PRIMARY_REGION, alarmStateChangeEvent(p.alarmName, 'ALARM', 'OK', clock.now(), 'lag', REPLICA_REGION));
      }
      if (t === 8 * MIN) {
        p.world.setRegionUp(PRIMARY_REGION, true);
        // And us-east-1 cannot reach the new primary's endpoints: its probes fail.
        p.world.setEndpointsUp(newPrimary.id, false);
      }
    });
    if (process.env.DEBUG_PAIR)
      for (const e of driver.log) console.log(e.t / 1000, e.region, e.via, e.decision.action, e.decision.reason);
    expect(promotions(p)).toEqual([`${REPLICA_REGION} SWITCHOVER`, `${REPLICA_REGION} FAILOVER`]);
    expect(p.world.roles(p.pairName).primary.id).toBe(newPrimary.id);
    const east = driver.log.filter((e) => e.region === PRIMARY_REGION).map((e) => e.decision);
    expect(east.find((d) => d.action === 'IGNORE')?.code).toBe('STALE_EVENT');
    const refusals = east.filter((d) => d.action === 'REFUSE');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.at(-1)?.code).toBe('FAILBACK_DISARMED');
    expect(actions(driver, PRIMARY_REGION)).not.toContain('START_SWITCHOVER');

    // The operator fails back by hand through us-east-1's API; automation stays out of the way.
    p.world.setEndpointsUp(newPrimary.id, true);
    const answer = await apiOf(p, PRIMARY_REGION).request('SWITCHOVER', p.pairName, { reason: 'fail back after the outage' });
    expect(answer.request.action).toBe('START_SWITCHOVER');
    await driver.play(30 * MIN);
    expect(p.world.roles(p.pairName).primary.id).toBe(oldPrimary.id);
    expect(promotions(p)).toEqual([`${REPLICA_REGION} SWITCHOVER`, `${REPLICA_REGION} FAILOVER`, `${PRIMARY_REGION} SWITCHOVER`]);
    expect(driver.failures).toEqual([]);
  });

  it('ping-pong: a link slower than the producers, both Regions automated: exactly one promotion', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock, pair: { produceRate: 200, drainRate: 150 } });
    const p = pair;
    const driver = new PairDriver(p, clock);
    await driver.play(40 * MIN);
    const regions = new Set(p.world.promoteLog.map((x) => x.region));
    expect([...regions]).toEqual([REPLICA_REGION]);
    // One operation: a switchover, escalated to a failover when it could not drain.
    const started = driver.log.filter((e) => e.decision.action.startsWith('START_'));
    expect(started.map((e) => `${e.region} ${e.decision.action}`)).toEqual([`${REPLICA_REGION} START_SWITCHOVER`]);
    const refused = driver.log.filter((e) => e.region === PRIMARY_REGION && e.decision.action === 'REFUSE');
    expect(refused.at(0)?.decision.code).toBe('FAILBACK_DISARMED');
    expect(driver.failures).toEqual([]);
    // The operator's view says why, in either Region.
    const east = apiOf(p, PRIMARY_REGION);
    const view = await east.pair(p.pairName);
    expect(view.pairWide?.newestPromotion).toMatchObject({ region: REPLICA_REGION, mode: 'SWITCHOVER', origin: 'AUTOMATIC' });
    // The arming is the core's answer, returned by the API; the CLI prints it, never derives it.
    expect(view.pairWide?.arming).toEqual({ armed: false, code: 'FAILBACK_DISARMED', why: expect.any(String) });
    expect(formatView(view).find((l) => l.startsWith('  pair '))).toMatch(
      /newest promotion us-west-2 SWITCHOVER op-.* by alarm:orders-replication-lag, .*; automatic promotion from us-east-1: not armed \(FAILBACK_DISARMED\): automatic fail-back is disarmed: .*\(FAILBACK_POLICY=manual\); re-arm it \(mqdr rearm\) or fail back by hand .*$/,
    );
    // An operator re-arms through either Region's API; the re-arm is recorded, and pair-wide.
    const rearm = await east.request('REARM', p.pairName, { reason: 'link upgraded' });
    expect(rearm.request.action).toBe('REARM');
    expect(rearm.decisions[0]?.reason).toMatch(/^link upgraded; automatic promotion re-armed after us-west-2's SWITCHOVER/);
    expect((await east.request('REARM', p.pairName, { reason: 'again' })).request.action).toBe('IGNORE');
    await driver.play(41 * MIN);
    const west = apiOf(p, REPLICA_REGION);
    expect((await west.request('REARM', p.pairName, { reason: 'seen from the other side' })).request.action).toBe('IGNORE');
    expect((await west.pair(p.pairName)).pairWide?.rearm).toMatchObject({ reason: 'link upgraded' });
    const afterRearm = await east.pair(p.pairName);
    expect(afterRearm.pairWide?.arming).toEqual({ armed: true });
    expect(formatView(afterRearm).find((l) => l.startsWith('  pair '))).toMatch(
      /; re-armed by .*; automatic promotion from us-east-1: armed$/,
    );
  });

  it('under FAILBACK_POLICY=automatic the CLI says armed, as the core decides (it once said "disarmed (FAILBACK_POLICY=manual)")', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock, env: { FAILBACK_POLICY: 'automatic' }, pair: { produceRate: 200, drainRate: 150 } });
    const p = pair;
    const driver = new PairDriver(p, clock);
    await driver.play(40 * MIN);
    expect(p.world.promoteLog.map((x) => x.region)).toContain(REPLICA_REGION);
    const view = await apiOf(p, PRIMARY_REGION).pair(p.pairName);
    expect(view.pairWide?.newestPromotion).toMatchObject({ region: REPLICA_REGION, origin: 'AUTOMATIC' });
    expect(view.pairWide?.arming).toEqual({ armed: true });
    const line = formatView(view).find((l) => l.startsWith('  pair ')) ?? '';
    expect(line).toMatch(/automatic promotion from us-east-1: armed$/);
    expect(line).not.toContain('FAILBACK_POLICY=manual');
  });

  it('a stale record ends SUPERSEDED: the other Region promoted while this Region’s table was down; its deadline escalates nothing', async () => {
    const clock = new ManualClock(T0);
    // A backlog: us-west-2's lag alarm starts a switchover at once, which takes two minutes to drain and
    // completes while us-west-2's table is down.
    const { p, proxy } = await withProxies(clock, { clock, pair: { backlog: 20_000 } });
    pair = p;
    const driver = new PairDriver(p, clock);
    driver.queueAlarm(REPLICA_REGION, alarmStateChangeEvent(p.alarmName, 'ALARM', 'OK', clock.now(), 'lag', PRIMARY_REGION));
    await driver.play(0);
    // The invocation watches the switchover; its decisions are in the table already.
    const west = await p.stacks[REPLICA_REGION].runtime.orchestrator.store.timeline(p.pairName);
    expect(west.map((d) => d.action)).toContain('PROMOTE_ACCEPTED');
    proxy(REPLICA_REGION).setTableDown(`crdr-orchestrator-${REPLICA_REGION}`, 'fail');
    await driver.play(5 * MIN);
    expect(p.world.roles(p.pairName).primary.region).toBe(REPLICA_REGION);
    // us-east-1's operator moves the primary back while us-west-2's record still says SWITCHOVER_IN_PROGRESS.
    const east = apiOf(p, PRIMARY_REGION);
    expect((await east.request('SWITCHOVER', p.pairName, { reason: 'back east' })).request.action).toBe('START_SWITCHOVER');
    await driver.play(8 * MIN);
    expect(p.world.roles(p.pairName).primary.region).toBe(PRIMARY_REGION);
    proxy(REPLICA_REGION).setTableDown(`crdr-orchestrator-${REPLICA_REGION}`, undefined);
    await driver.play(20 * MIN); // past the switchover's deadline (start + 10 min)
    if (process.env.DEBUG_PAIR)
      for (const e of driver.log) console.log(e.t / 1000, e.region, e.via, e.decision.action, e.decision.reason);
    const record = await p.stacks[REPLICA_REGION].runtime.orchestrator.store.load(p.pairName);
    expect(record.state.operation?.status).toBe('SUPERSEDED');
    const superseded = driver.log.find((e) => e.region === REPLICA_REGION && e.decision.action === 'SUPERSEDE');
    expect(superseded?.decision.reason).toMatch(/us-east-1 promoted its broker \(SWITCHOVER .*operator:/);
    expect(actions(driver, REPLICA_REGION)).not.toContain('ESCALATE_TO_FAILOVER');
    expect(promotions(p)).toEqual([`${REPLICA_REGION} SWITCHOVER`, `${PRIMARY_REGION} SWITCHOVER`]);
    expect(p.world.published.some((m) => m.subject?.includes('SWITCHOVER superseded'))).toBe(true);
    // The record is at rest: a later real outage of us-east-1 is acted on, not refused as "already in flight".
    await driver.play(21 * MIN, (t) => {
      if (t === 21 * MIN) p.world.setRegionUp(PRIMARY_REGION, false);
    });
    await driver.play(30 * MIN);
    expect(p.world.roles(p.pairName).primary.region).toBe(REPLICA_REGION);
    expect(promotions(p).slice(2)).toEqual([`${REPLICA_REGION} SWITCHOVER`, `${REPLICA_REGION} FAILOVER`]);
  });

  it('an operator abandons a stuck operation, with a reason; its deadline is cancelled', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock, pair: { produceRate: 200, drainRate: 150, backlog: 100_000 } });
    const p = pair;
    const driver = new PairDriver(p, clock);
    const west = apiOf(p, REPLICA_REGION);
    const started = await west.request('SWITCHOVER', p.pairName, { reason: 'game day', escalate: false });
    expect(started.request.action).toBe('START_SWITCHOVER');
    await driver.play(5 * MIN);
    const abandoned = await west.request('ABANDON', p.pairName, { reason: 'the link cannot drain; retry tonight' });
    expect(abandoned.request.action).toBe('ABANDON');
    expect(abandoned.decisions.at(-1)?.reason).toMatch(/retry tonight; Amazon MQ still shows a promotion under way/);
    const again = await west.request('ABANDON', p.pairName, { reason: 'twice' });
    expect(again.request.action).toBe('IGNORE');
    expect(p.stacks[REPLICA_REGION].scheduler.pending).toBe(0);
  });

  it('break glass: with the replica Region’s table down, a confirmed failover goes through and is recorded once the table answers', async () => {
    const { p, proxy, driver, west } = await primaryGoneTableDown();
    const answer = await west.request(
      'FAILOVER',
      p.pairName,
      { reason: 'us-east-1 is gone', confirm: p.pairName },
      'break-glass-1',
    );
    expect(answer.breakGlass?.keptIn).toBe('pair view');
    expect(answer.request.action).toBe('START_FAILOVER');
    expect(promotions(p)).toEqual([`${REPLICA_REGION} FAILOVER`]);
    expect(p.world.published.some((m) => m.subject?.includes('break-glass FAILOVER sent'))).toBe(true);
    // A retry with the same key is answered from the first: no second Promote.
    const retry = await west.request(
      'FAILOVER',
      p.pairName,
      { reason: 'us-east-1 is gone', confirm: p.pairName },
      'break-glass-1',
    );
    expect(retry.replayed).toBe(true);
    expect(promotions(p)).toHaveLength(1);

    await driver.play(4 * MIN);
    proxy(REPLICA_REGION).setTableDown(`crdr-orchestrator-${REPLICA_REGION}`, undefined);
    await driver.play(6 * MIN);
    const timeline = await p.stacks[REPLICA_REGION].runtime.orchestrator.store.timeline(p.pairName);
    const glass = timeline.find((d) => d.breakGlass);
    expect(glass).toMatchObject({ action: 'START_FAILOVER', operator: expect.stringContaining('arn:aws:iam::') });
    expect(glass?.reason).toMatch(/^break glass: .* failed over at .* while the table could not be written/);
    const completions = timeline.filter((d) => d.action === 'COMPLETE');
    expect(completions).toHaveLength(1);
    // Recovery runs to the takeover the break-glass request saw (the simulator's failover takes 5 s), not to the
    // table's return minutes later.
    expect(completions[0]?.recoveryMs).toBeGreaterThan(0);
    expect(completions[0]?.recoveryMs).toBeLessThanOrEqual(10_000);
    expect((completions[0]?.at ?? 0) - (glass?.at ?? 0)).toBeGreaterThanOrEqual(0);
    expect(promotions(p)).toHaveLength(1);
  });

  it('break glass with the pair view down too: kept in memory, recorded by the next request once the table answers', async () => {
    const { p, proxy, west } = await primaryGoneTableDown();
    proxy(REPLICA_REGION).setTableDown(`crdr-pair-view-${REPLICA_REGION}`, 'fail');
    const answer = await west.request(
      'FAILOVER',
      p.pairName,
      { reason: 'everything is down', confirm: p.pairName },
      'break-glass-2',
    );
    expect(answer.breakGlass?.keptIn).toBe('memory');
    // The client retries with the same key (its answer lost): the replay says where the record really is.
    const replay = await west.request(
      'FAILOVER',
      p.pairName,
      { reason: 'everything is down', confirm: p.pairName },
      'break-glass-2',
    );
    expect(replay.replayed).toBe(true);
    expect(replay.breakGlass?.keptIn).toBe('memory');
    expect(promotions(p)).toHaveLength(1);
    proxy(REPLICA_REGION).setTableDown(`crdr-orchestrator-${REPLICA_REGION}`, undefined);
    proxy(REPLICA_REGION).setTableDown(`crdr-pair-view-${REPLICA_REGION}`, undefined);
    // The API function's container holds it: its next request records it first.
    await west.request('HOLD', p.pairName, { reason: 'looking' });
    const timeline = await p.stacks[REPLICA_REGION].runtime.orchestrator.store.timeline(p.pairName);
    expect(timeline.filter((d) => d.breakGlass).map((d) => d.requestKey)).toEqual(['break-glass-2']);
    // The break-glass request saw the takeover (5 s): the failover completes as recorded, so the hold finds nothing
    // in flight, and the recovery time runs to that takeover.
    expect(timeline).toContainEqual(expect.objectContaining({ action: 'REFUSE', code: 'NOTHING_IN_FLIGHT' }));
    expect(timeline.find((d) => d.action === 'COMPLETE')?.recoveryMs).toBeLessThanOrEqual(10_000);
    expect(p.stacks[REPLICA_REGION].runtime.orchestrator.pendingBreakGlass).toEqual([]);
  });
});

describe('promotions made outside the orchestrator', () => {
  it('a FAILOVER from the console, then a fail-back by hand: each recorded as what it was, clients follow both', async () => {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock });
    const p = pair;
    const driver = new PairDriver(p, clock);
    const parameters = () =>
      [PRIMARY_REGION, REPLICA_REGION].map((r) => p.world.getParameter(r, `/mq-crdr/${p.pairName}/broker-url`)?.value);
    await driver.play(2 * MIN);
    const { primary, replica } = p.world.roles(p.pairName);
    // Someone fails over in the console: no orchestrator sent it.
    p.world.promote(replica.region, replica.id, 'FAILOVER');
    await driver.play(4 * MIN);
    expect(p.world.roles(p.pairName).primary.id).toBe(replica.id);
    const west = driver.log.filter((e) => e.region === REPLICA_REGION).map((e) => e.decision);
    expect(west.find((d) => d.action === 'EXTERNAL_PROMOTION')).toMatchObject({ rpo: expect.any(Object) });
    expect(west.filter((d) => d.action === 'COMPLETE')).toEqual([]);
    // The new primary's endpoints first (the other Region's follow, so that a client finds the primary by itself).
    for (const value of parameters()) expect(parseFailoverUrl(value ?? '')[0]).toContain(`127.0.0.1:${replica.port}`);
    // us-east-1's alarm or probes never reverse it: the view shows an operator's promotion, which disarms.
    expect(actions(driver, PRIMARY_REGION)).not.toContain('START_SWITCHOVER');
    // The operator fails back by hand, in the console too: us-east-1 records it, and clients follow again.
    p.world.promote(primary.region, primary.id, 'SWITCHOVER');
    await driver.play(8 * MIN);
    expect(p.world.roles(p.pairName).primary.id).toBe(primary.id);
    const east = driver.log.filter((e) => e.region === PRIMARY_REGION).map((e) => e.decision);
    expect(east.find((d) => d.action === 'EXTERNAL_PROMOTION')).toBeDefined();
    for (const value of parameters()) expect(parseFailoverUrl(value ?? '')[0]).toContain(`127.0.0.1:${primary.port}`);
    expect(driver.failures).toEqual([]);
  });
});

describe('an accepted promotion that is gone before any sweep saw it take effect', () => {
  /**
   * us-west-2's operator fails over a minute in; `reverse`: 10 s later (the failover took 5 s, us-west-2's next
   * probe is at 15 s) someone switches back in the console. The API function does not wait for the completion
   * (WATCH_SECONDS=0, as when a failover outlasts its watch).
   */
  async function failOverThen(world: { failoverMs?: number; pendingShownAfterMs?: number }, reverse: boolean) {
    const clock = new ManualClock(T0);
    pair = await startTwoRegions({ clock, world, env: { WATCH_SECONDS: '0' } });
    const p = pair;
    const driver = new PairDriver(p, clock);
    await driver.play(MIN);
    const west = apiOf(p, REPLICA_REGION);
    const answer = await west.request('FAILOVER', p.pairName, { reason: 'by hand', confirm: p.pairName });
    expect(answer.request.action).toBe('START_FAILOVER');
    if (reverse) {
      await driver.play(MIN + 10_000);
      p.world.promote(PRIMARY_REGION, p.stacks[PRIMARY_REGION].local.id, 'SWITCHOVER');
    }
    await driver.play(6 * MIN);
    const timeline = await p.stacks[REPLICA_REGION].runtime.orchestrator.store.timeline(p.pairName);
    return { p, west, driver, timeline };
  }

  // Whether DescribeBroker shows the promotion as pending at once or a minute later (unpublished), the console's
  // switchover reverses it 5 s after the failover completed: neither Region's probes nor sweeps ever see us-west-2 the primary.
  it.each([0, MIN])(
    'reversed in the console (pending shown after %i ms): the operation ends FAILED, and the Region can act again',
    async (pendingShownAfterMs) => {
      const { p, west, timeline } = await failOverThen({ pendingShownAfterMs }, true);
      expect(p.world.roles(p.pairName).primary.region).toBe(PRIMARY_REGION);
      expect(timeline.filter((d) => d.action === 'FAIL')).toHaveLength(1);
      // Ended, not escalated nor re-sent: nothing reverses the console's choice.
      expect(promotions(p)).toEqual([`${REPLICA_REGION} FAILOVER`, `${PRIMARY_REGION} SWITCHOVER`]);
      // In flight it refused every later request (IN_FLIGHT); ended, the operator's next one starts.
      const again = await west.request('SWITCHOVER', p.pairName, { reason: 'try again' });
      expect(again.request.action).toBe('START_SWITCHOVER');
    },
  );

  it('a promotion that shows as pending only after the allowance: ended, then recorded as an outside promotion when it completes', async () => {
    // A 4-minute failover shown as pending 3 minutes after its Promote, past PROMOTION_SHOWN_WITHIN_MS (2 minutes).
    const { p, timeline } = await failOverThen({ failoverMs: 4 * MIN, pendingShownAfterMs: 3 * MIN }, false);
    expect(p.world.roles(p.pairName).primary.region).toBe(REPLICA_REGION);
    expect(timeline.map((d) => d.action)).toEqual(expect.arrayContaining(['START_FAILOVER', 'FAIL', 'EXTERNAL_PROMOTION']));
    expect(promotions(p)).toEqual([`${REPLICA_REGION} FAILOVER`]);
  });

  it('a promotion that shows as pending within the allowance is waited for, and completes as the operation', async () => {
    const { p, timeline } = await failOverThen({ failoverMs: 4 * MIN, pendingShownAfterMs: 90_000 }, false);
    expect(p.world.roles(p.pairName).primary.region).toBe(REPLICA_REGION);
    expect(timeline.map((d) => d.action)).not.toContain('FAIL');
    expect(timeline.map((d) => d.action)).toContain('COMPLETE');
    expect(promotions(p)).toEqual([`${REPLICA_REGION} FAILOVER`]);
  });
});

describe('a FAILOVER from the console interrupts the orchestrator’s switchover', () => {
  it('is recorded as a failover, with the events it left on the old primary, not as the switchover', async () => {
    const clock = new ManualClock(T0);
    // Without prediction, which would fail over by itself before the console does.
    pair = await startTwoRegions({ clock, env: { PREDICTIVE_ESCALATION: 'false' }, pair: { produceRate: 300, drainRate: 200 } });
    const p = pair;
    const driver = new PairDriver(p, clock);
    await driver.play(MIN);
    p.world.setPartitioned(true);
    await driver.play(20 * MIN, (t) => {
      const started = driver.log.find((e) => e.decision.action === 'START_SWITCHOVER');
      // Three minutes into the switchover (it cannot drain: the link is down), someone fails over in the console.
      if (started && t === started.t + 3 * MIN) p.world.promote(REPLICA_REGION, p.stacks[REPLICA_REGION].local.id, 'FAILOVER');
    });
    const west = driver.log.filter((e) => e.region === REPLICA_REGION).map((e) => e.decision);
    expect(west.map((d) => d.action)).toContain('START_SWITCHOVER');
    expect(west.find((d) => d.action === 'ESCALATE_TO_FAILOVER')).toMatchObject({ escalatedBy: 'outside' });
    const completed = west.find((d) => d.action === 'COMPLETE');
    expect(completed?.rpo?.events).toBeGreaterThan(0);
    const record = await p.stacks[REPLICA_REGION].runtime.orchestrator.store.load(p.pairName);
    expect(record.state.operation).toMatchObject({ mode: 'FAILOVER', status: 'COMPLETED' });
    expect(p.world.promoteLog.map((x) => x.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);
  });
});

describe('what the drills tell an operator to run', () => {
  it('the failback drill’s reconcile command runs as printed: its flags are the bin’s own', async () => {
    // The placeholders filled in as an operator would; nothing listens there, so it fails at run time (exit 1),
    // never at its command line (exit 2: an unknown or a missing flag).
    const printed = reconcileCommand('stomp://127.0.0.1:9', 'stomp://127.0.0.1:9');
    const [bin, ...args] = printed.split(' ');
    expect(bin).toBe('mq-crdr-reconcile');
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'packages/dedup/src/reconcile-cli.ts', ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-west-2',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
          RECONCILE_IDLE_MS: '200',
        },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
      });
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(run.stderr).not.toMatch(/missing|unknown|Unknown option|--help/);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^mq-crdr-reconcile: /);
  }, 30_000);
});
