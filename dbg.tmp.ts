import { playPair } from './test/model/pair-model.ts';

await playPair({
  policy: 'manual',
  cooldownSeconds: 0,
  load: { produceRate: 200, drainRate: 150, backlog: 0 },
  skew: { 'us-east-1': 0, 'us-west-2': 0 },
  steps: [
    { t: 'endpoints', r: 'us-east-1', up: false },
    { t: 'table', r: 'us-east-1', how: 'fail' },
    { t: 'tick', seconds: 5 },
    { t: 'replication', how: 'pause' },
  ],
}).catch((e) => console.log(String(e).slice(0, 300)));
