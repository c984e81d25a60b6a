/**
 * `npm run local [-- --speed 10 --port 4020]`: the embedded default running on its own, for the CLI and the
 * API to be tried by hand. It plays AWS's periodic parts: every simulated minute CloudWatch evaluates the
 * lag alarm (delivered to the real onAlarm handler), the health check and the sweep run; every 10 minutes the
 * readiness evaluation; due deadlines fire the real escalate handler. `--speed` runs simulated time faster than the wall clock.
 *
 *   npm run local -- --speed 10 &
 *   npm run mqdr -- status orders
 *   curl -XPOST http://127.0.0.1:<simulator>/_simulator/partition -d '{"partitioned":true}'
 */

import { commandLine } from '#dedup/command-line.ts';
import { READINESS_SCHEDULE_MS } from '#lib/orchestrator.ts';
import type { Clock } from '#lib/ports.ts';
import { ReplicationAlarms, startEmbedded } from './embedded.ts';

const { values } = commandLine(
  'local',
  'usage: npm run local -- [--speed 1] [--port 4020] [--lag-seconds 120]\n\nThe embedded default on its own, with the operator API on 127.0.0.1:<port>, simulated time --speed times faster.',
  {
    speed: { type: 'string', default: '1' },
    port: { type: 'string', default: '4020' },
    'lag-seconds': { type: 'string', default: '120' },
  },
  { versionOf: import.meta.url },
);
const speed = Number(values.speed);
const port = Number(values.port);
const lagSeconds = Number(values['lag-seconds']);
if (!(speed >= 1 && speed <= 600) || !Number.isInteger(port) || port < 0 || port > 65535 || !(lagSeconds >= 10)) {
  console.error('--speed must be 1 to 600, --port 0 to 65535, --lag-seconds at least 10');
  process.exit(2);
}

/** Simulated time runs `speed` times faster than the wall clock, from now. */
const origin = Date.now();
const clock: Clock = {
  now: () => origin + (Date.now() - origin) * speed,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms / speed)),
};

const e = await startEmbedded({ clock, apiPort: port, env: { DEADLINE_SECONDS: '300', COOLDOWN_SECONDS: '900' } }).catch(
  (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    console.error(`local: port ${port} is in use (another npm run local?); choose another with --port`);
    process.exit(2);
  },
);
const alarmName = `${e.pairName}-replication-lag`;
console.log(`local default running at ${speed}x: pair ${e.pairName}
  operator API   ${e.apiEndpoint}   (mqdr uses it by default; credentials local/local)
  simulator      ${e.simulator.endpoint}   (fault injection: see simulator/server.ts)
  replica        ${e.replica.id} (${e.replica.region}), primary ${e.primary.id} (${e.primary.region})
  try            npm run mqdr -- status ${e.pairName}`);

// The replication alarms of the primary's stack, as serverless.yml declares them, forwarded to this Region.
const alarms = new ReplicationAlarms(e.world, [e.primary], {
  pairId: e.pairName,
  lagAlarmName: () => alarmName,
  lagAlarmSeconds: lagSeconds,
});
let nextMinute = clock.now();
let minutes = 0;
const tick = async () => {
  await e.world.syncListeners();
  await e.scheduler.runDue();
  if (clock.now() < nextMinute) return;
  nextMinute += 60_000;
  for (const change of alarms.evaluate(clock.now())) await e.invoke.onAlarm(change.event);
  await e.invoke.healthCheck();
  await e.invoke.escalate({ kind: 'sweep' });
  if (minutes++ % (READINESS_SCHEDULE_MS / 60_000) === 0) await e.invoke.readiness();
};
let running = false;
const timer = setInterval(() => {
  if (running) return;
  running = true;
  tick()
    .catch((error: unknown) => console.error('trigger failed:', error))
    .finally(() => {
      running = false;
    });
}, 1_000);

const stop = async () => {
  clearInterval(timer);
  await e.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
