/**
 * The consumer dedup SDK, published as `@mq-crdr/dedup` (packages/dedup): `import { DedupStore, processOnce,
 * mqDedup } from '@mq-crdr/dedup'`. The consumer that follows client redirection is `@mq-crdr/dedup/follow`
 * (./follow.ts): it alone needs @aws-sdk/client-ssm, an optional peer dependency.
 */
export * from './errors.ts';
export * from './mq-middleware.ts';
export * from './process.ts';
export * from './reconcile.ts';
export * from './stomp.ts';
export * from './store.ts';
export * from './table.ts';
