#!/usr/bin/env node
/**
 * The reconcile command: the `mq-crdr-reconcile` bin of the dedup package (`npm run reconcile -- …` here).
 *   mq-crdr-reconcile --from stomp+ssl://old-primary:61614 --to stomp+ssl://new-primary:61614 \
 *     --queue orders=fulfilment [--queue …] [--audit-queue reconciled.audit] --table dedup [--region us-east-1]
 * Broker credentials from BROKER_USERNAME / BROKER_PASSWORD; DYNAMODB_ENDPOINT for a local table.
 */
import { commandLine } from './command-line.ts';
import { reconcileFromEnv } from './jobs.ts';

const USAGE = `usage: mq-crdr-reconcile --from URL --to URL --queue QUEUE=GROUP [--queue …] --table TABLE [--region R]
                              [--audit-queue NAME] [--idle-ms N]

Drains the old primary's queues (--from, a STOMP URL) into the current primary (--to): messages the consumer
GROUP already processed (in the dedup TABLE) are dropped, the rest re-published once. Safe to run again.
Broker credentials come from BROKER_USERNAME and BROKER_PASSWORD; DYNAMODB_ENDPOINT points at a local table.`;

const { values } = commandLine('mq-crdr-reconcile', USAGE, {
  from: { type: 'string' },
  to: { type: 'string' },
  queue: { type: 'string', multiple: true, default: [] },
  'audit-queue': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  'idle-ms': { type: 'string' },
});
const missing = [
  ...(values.from || process.env.RECONCILE_SOURCE_URL ? [] : ['--from']),
  ...(values.to || process.env.RECONCILE_TARGET_URL ? [] : ['--to']),
  ...((values.queue ?? []).length > 0 ? [] : ['--queue']),
  ...(values.table || process.env.DEDUP_TABLE ? [] : ['--table']),
];
if (missing.length > 0) {
  console.error(`mq-crdr-reconcile: missing ${missing.join(', ')}; see mq-crdr-reconcile --help`);
  process.exit(2);
}

const queues = (values.queue ?? []).map((spec) => {
  const [queue, group] = spec.split('=');
  return { queue, group };
});
const env = {
  ...process.env,
  ...(values.from ? { RECONCILE_SOURCE_URL: values.from } : {}),
  ...(values.to ? { RECONCILE_TARGET_URL: values.to } : {}),
  ...(values.table ? { DEDUP_TABLE: values.table } : {}),
  ...(values.region ? { AWS_REGION: values.region } : {}),
  ...(values['idle-ms'] ? { RECONCILE_IDLE_MS: values['idle-ms'] } : {}),
};
try {
  const reports = await reconcileFromEnv(
    { queues, ...(values['audit-queue'] ? { auditQueue: values['audit-queue'] } : {}) },
    env,
  );
  console.table(reports);
} catch (error) {
  console.error(`mq-crdr-reconcile: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
