/**
 * The pair as deployed: one orchestrator stack in each of the two Regions, over one simulated pair. Each stack
 * has its own table, its own deadline scheduler and topic, and its own broker as the local one (the stack in
 * the primary's Region watches its broker as the "local" one and refuses to promote it). The handlers, SDK
 * clients, simulator and dynalite are the real ones, on one manual clock shared as concurrent Lambdas share
 * time (ManualClock.track).
 *
 * This is what the pair-wide guards (a peer view, the fail-back policy) are to be tested on; today it shows
 * each Region deciding alone.
 */

import { escalate } from '#functions/escalate.ts';
import { healthCheck } from '#functions/healthCheck.ts';
import { onAlarm } from '#functions/onAlarm.ts';
import type { HandlerResult } from '#functions/shared.ts';
import { makeHandler } from '#functions/shared.ts';
import { LocalDeadlineScheduler } from '#lib/adapters/local-scheduler.ts';
import { loadConfig } from '#lib/config.ts';
import { createRuntime, type Runtime } from '#lib/runtime.ts';
import {
  addOrdersPair,
  createTable,
  LOCAL_CREDENTIALS,
  type ManualClock,
  PRIMARY_REGION,
  pairEnv,
  quietLog,
  REPLICA_REGION,
  startDynalite,
} from './embedded.ts';
import { lambdaContext } from './lambda-context.ts';
import { type RunningSimulator, startSimulator } from './server.ts';
import { CrdrWorld, type SimBroker } from './world.ts';

export interface RegionStack {
  region: string;
  /** This stack's own broker. */
  local: SimBroker;
  runtime: Runtime;
  scheduler: LocalDeadlineScheduler;
  /** Decisions of deadline schedules that fired. */
  scheduled: HandlerResult[];
  invoke: {
    onAlarm(event: unknown): Promise<HandlerResult>;
    healthCheck(event?: unknown): Promise<HandlerResult>;
    escalate(event: unknown): Promise<HandlerResult>;
  };
}

export interface TwoRegions {
  world: CrdrWorld;
  simulator: RunningSimulator;
  pairName: string;
  stacks: Record<typeof PRIMARY_REGION | typeof REPLICA_REGION, RegionStack>;
  close(): Promise<void>;
}

export async function startTwoRegions(options: {
  clock: ManualClock;
  env?: Record<string, string>;
  pair?: { produceRate?: number; drainRate?: number; backlog?: number };
}): Promise<TwoRegions> {
  const { clock } = options;
  const world = new CrdrWorld(clock);
  const { pairName, primary, replica } = addOrdersPair(world, options.pair);
  const simulator = await startSimulator(world);
  const db = await startDynalite();
  const runtimes: Runtime[] = [];

  const stack = async (local: SimBroker, remote: SimBroker): Promise<RegionStack> => {
    // Each Region's own table, as each stack declares its own.
    const tableName = `crdr-orchestrator-${local.region}`;
    await createTable(db.endpoint, tableName, local.region);
    const config = loadConfig({
      // pairEnv names the stack's own broker "replica" and the other "primary": here they are local and remote.
      ...pairEnv({
        pairName,
        primary: remote,
        replica: local,
        tableName,
        simulatorEndpoint: simulator.endpoint,
        dynamodbEndpoint: db.endpoint,
        topicArn: world.addTopic(local.region, 'crdr-notifications'),
      }),
      ...options.env,
    });
    const scheduled: HandlerResult[] = [];
    let escalateHandler: ReturnType<typeof makeHandler> | undefined;
    const scheduler = new LocalDeadlineScheduler(clock, async (payload) => {
      const handler = escalateHandler as ReturnType<typeof makeHandler>;
      scheduled.push(await clock.track(() => handler(payload, lambdaContext('escalate'))));
    });
    const runtime = createRuntime(config, quietLog, { clock, scheduler, credentials: LOCAL_CREDENTIALS });
    runtimes.push(runtime);
    const handlers = {
      onAlarm: makeHandler(onAlarm, () => runtime),
      healthCheck: makeHandler(healthCheck, () => runtime),
      escalate: makeHandler(escalate, () => runtime),
    };
    escalateHandler = handlers.escalate;
    return {
      region: local.region,
      local,
      runtime,
      scheduler,
      scheduled,
      invoke: {
        onAlarm: (event) => clock.track(() => handlers.onAlarm(event, lambdaContext('onAlarm'))),
        healthCheck: (event = {}) => clock.track(() => handlers.healthCheck(event, lambdaContext('healthCheck'))),
        escalate: (event) => clock.track(() => handlers.escalate(event, lambdaContext('escalate'))),
      },
    };
  };

  return {
    world,
    simulator,
    pairName,
    stacks: { [PRIMARY_REGION]: await stack(primary, replica), [REPLICA_REGION]: await stack(replica, primary) },
    close: async () => {
      for (const runtime of runtimes) runtime.close();
      await simulator.close();
      await db.close();
    },
  };
}
