/**
 * npm run reconcile -- --from stomp+ssl://old-primary:61614 --to stomp+ssl://new-primary:61614 \
 *   --queue orders=fulfilment [--queue …] [--audit-queue reconciled.audit] --table dedup [--region us-east-1]
 * Broker credentials from BROKER_USERNAME / BROKER_PASSWORD; DYNAMODB_ENDPOINT for a local table.
 */
import { parseArgs } from 'node:util';
import { reconcileFromEnv } from '#lib/dedup/jobs.ts';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    queue: { type: 'string', multiple: true, default: [] },
    'audit-queue': { type: 'string' },
    table: { type: 'string' },
    region: { type: 'string' },
    'idle-ms': { type: 'string' },
  },
});

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
  console.error(`reconcile: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
