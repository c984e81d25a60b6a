/**
 * `npm run simulator -- --port N`: the Amazon MQ simulator on its own, in real time, with a demo pair
 * (primary in us-east-1, replica in us-west-2, 50 msg/s produced, 200 msg/s replicated).
 */
import { parseArgs } from 'node:util';
import { systemClock } from '#lib/ports.ts';
import { startSimulator } from './server.ts';
import { CrdrWorld } from './world.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run simulator -- [--port 4010] [--host 127.0.0.1]');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
  process.exit(2);
}

const world = new CrdrWorld(systemClock);
const { primary, replica } = world.addPair({
  name: 'demo',
  primaryRegion: 'us-east-1',
  replicaRegion: 'us-west-2',
  produceRate: 50,
  drainRate: 200,
});
const sim = await startSimulator(world, port, values.host);
console.log(`Amazon MQ simulator listening on ${sim.endpoint}
  demo pair: primary ${primary.id} (us-east-1), replica ${replica.id} (us-west-2)
  try:  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws mq describe-broker --region us-west-2 --endpoint-url ${sim.endpoint} --broker-id ${replica.id}
  fault injection: curl -XPOST ${sim.endpoint}/_simulator/regions/us-east-1 -d '{"up":false}'
  state:           curl ${sim.endpoint}/_simulator/state`);
const stop = () => sim.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
