/** `npm run reconcile -- …`: the dedup SDK's reconcile command (its package's `mq-crdr-reconcile` bin). */
import '#dedup/reconcile-cli.ts';
