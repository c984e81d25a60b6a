/** The consumer dedup SDK: `import { DedupStore, processOnce, mqDedup } from 'mq-crdr-orchestrator/dedup'`. */
export * from './errors.ts';
export * from './follow.ts';
export * from './mq-middleware.ts';
export * from './process.ts';
export * from './reconcile.ts';
export * from './stomp.ts';
export * from './store.ts';
export * from './table.ts';
