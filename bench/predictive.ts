/**
 * `npm run bench:predictive`: predictive escalation against the fixed deadline (the baseline), side by side on
 * the embedded default. Each lag curve is played twice from the same start, through the real handlers and the
 * real CloudWatch client: once with PREDICTIVE_ESCALATION=false, once with it on. Printed per curve: how the
 * operation ended and when the new primary took clients, the time saved, and whether the early failover was
 * needless (the baseline's switchover would have finished: unreplicated messages for nothing). Target: 0.
 */
import { alarmStateChangeEvent, ManualClock, startEmbedded } from '#simulator/embedded.ts';

const DEADLINE_S = 600;
const T0 = Date.parse('2026-11-23T09:00:00Z');

interface Curve {
  name: string;
  backlog: number;
  drainRate: number;
  /** Changes to the link while the switchover runs, at seconds after the alarm. */
  events?: Array<{ at: number; partitioned?: boolean; drainRate?: number }>;
}

const CURVES: Curve[] = [
  { name: 'drains in 100 s', backlog: 20_000, drainRate: 200 },
  { name: 'drains in 500 s', backlog: 100_000, drainRate: 200 },
  { name: 'drains 25 s after the deadline', backlog: 125_000, drainRate: 200 },
  { name: 'drains in 1500 s', backlog: 300_000, drainRate: 200 },
  { name: 'partitioned at once', backlog: 30_000, drainRate: 100, events: [{ at: 1, partitioned: true }] },
  { name: 'partitioned after 2 min', backlog: 60_000, drainRate: 100, events: [{ at: 120, partitioned: true }] },
  {
    name: 'partitioned 1-3 min, then drains',
    backlog: 40_000,
    drainRate: 200,
    events: [
      { at: 60, partitioned: true },
      { at: 180, partitioned: false },
    ],
  },
  { name: 'link slows to 20 msg/s at 2 min', backlog: 80_000, drainRate: 200, events: [{ at: 120, drainRate: 20 }] },
  { name: 'link slows to 120 msg/s at 1 min', backlog: 70_000, drainRate: 200, events: [{ at: 60, drainRate: 120 }] },
];

interface Result {
  mode: string;
  /** Seconds from the alarm to the local broker promoted. */
  recovery: number;
  escalatedAt?: number;
  unreplicated: number;
}

async function play(curve: Curve, predictive: boolean): Promise<Result> {
  const clock = new ManualClock(T0);
  const e = await startEmbedded({
    clock,
    // No completion watch: an invocation watching moves the manual clock itself, and this loop must apply each
    // curve's link changes at their own second. Completion is read from the simulator's log either way.
    env: {
      DEADLINE_SECONDS: String(DEADLINE_S),
      PREDICTIVE_ESCALATION: String(predictive),
      COOLDOWN_SECONDS: '0',
      WATCH_SECONDS: '0',
    },
    pair: { backlog: curve.backlog, drainRate: curve.drainRate, produceRate: 0 },
  });
  try {
    await e.invoke.onAlarm(alarmStateChangeEvent(`${e.pairName}-replication-lag`, 'ALARM', 'OK', T0));
    const pending = [...(curve.events ?? [])];
    let promotedAt = Number.NaN;
    for (let t = 10; t <= 3 * DEADLINE_S; t += 10) {
      clock.advance(10_000);
      for (const ev of pending.filter((p) => p.at <= t)) {
        if (ev.partitioned !== undefined) e.world.setPartitioned(ev.partitioned);
        if (ev.drainRate !== undefined) e.world.pair(e.pairName).drainRate = ev.drainRate;
        pending.splice(pending.indexOf(ev), 1);
      }
      e.world.sync();
      await e.scheduler.runDue();
      if (t % 60 === 0) await e.invoke.escalate({ kind: 'sweep' });
      // Measured the same way for both: when the simulator logged the new primary taking clients.
      const up = e.world.acceptingSince(e.pairName, e.replica.id);
      if (up !== undefined) {
        promotedAt = (up - T0) / 1000;
        break;
      }
    }
    const op = (await e.runtime.orchestrator.store.load(e.pairName)).state.operation;
    return {
      mode: op?.mode ?? 'none',
      recovery: promotedAt,
      ...(op?.escalatedAt ? { escalatedAt: (op.escalatedAt - T0) / 1000 } : {}),
      unreplicated: e.world.pair(e.pairName).unreplicatedOnOldPrimary,
    };
  } finally {
    await e.close();
  }
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
console.log(`deadline ${DEADLINE_S} s, sweep every 60 s, prediction: >= 3 datapoints, 60 s margin\n`);
console.log(`${pad('lag curve', 34)}${pad('baseline (fixed deadline)', 44)}${pad('predictive', 44)}saved   needless`);
let saved = 0;
let needless = 0;
let early = 0;
let extraLost = 0;
let baseTotal = 0;
let predTotal = 0;
for (const curve of CURVES) {
  const base = await play(curve, false);
  const pred = await play(curve, true);
  const gain = base.recovery - pred.recovery;
  const wasted = pred.mode === 'FAILOVER' && base.mode === 'SWITCHOVER';
  saved += gain;
  if (wasted) needless++;
  if (pred.escalatedAt !== undefined && (base.escalatedAt === undefined || pred.escalatedAt < base.escalatedAt)) early++;
  extraLost += pred.unreplicated - base.unreplicated;
  baseTotal += base.recovery;
  predTotal += pred.recovery;
  const show = (r: Result) =>
    `${r.mode === 'FAILOVER' ? `FAILOVER (esc ${r.escalatedAt?.toFixed(0)} s)` : r.mode} up ${r.recovery.toFixed(0)} s, RPO ${r.unreplicated}`;
  console.log(
    `${pad(curve.name, 34)}${pad(show(base), 44)}${pad(show(pred), 44)}${pad(`${gain.toFixed(0)} s`, 8)}${wasted ? 'YES' : 'no'}`,
  );
}
console.log(
  `\n${CURVES.length} curves: ${early} escalated early, time to a primary saved ${saved.toFixed(0)} s in total ` +
    `(${(saved / Math.max(1, early)).toFixed(0)} s per early escalation); needless failovers ${needless} (target 0); ` +
    `the early failovers left ${extraLost} more messages unreplicated than failing over at the deadline`,
);
console.log(
  `time to a primary over all curves: baseline ${baseTotal.toFixed(0)} s, predictive ${predTotal.toFixed(0)} s, ` +
    `ratio ${(baseTotal / predTotal).toFixed(2)}x`,
);
