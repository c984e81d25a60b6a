/**
 * Reconcile's broker credentials, read by ARN at run time through the real Secrets Manager client against the
 * simulator: a rotation reaches the next read, the secret is read in its own Region, and a malformed secret is
 * refused without its value in the message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBrokerSecret } from '#lib/adapters/broker-secret.ts';
import { ConfigurationError } from '#lib/errors.ts';
import { systemClock } from '#lib/ports.ts';
import { type RunningSimulator, startSimulator } from '#simulator/server.ts';
import { CrdrWorld } from '#simulator/world.ts';

let world: CrdrWorld;
let sim: RunningSimulator;
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDLOCAL';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  world = new CrdrWorld(systemClock, { listen: false });
  sim = await startSimulator(world);
});
afterAll(async () => {
  await sim.close();
  await world.close();
});

describe('the broker secret, read at run time', () => {
  it('reads the current value, so a rotation reaches the next run', async () => {
    const arn = world.putSecret('us-west-2', 'mq-crdr/orders-user', JSON.stringify({ username: 'recon', password: 'one' }));
    expect(await readBrokerSecret(arn, { endpoint: sim.endpoint })).toEqual({ login: 'recon', passcode: 'one' });
    world.putSecret('us-west-2', 'mq-crdr/orders-user', JSON.stringify({ username: 'recon', password: 'two' }));
    expect(await readBrokerSecret(arn, { endpoint: sim.endpoint })).toEqual({ login: 'recon', passcode: 'two' });
  });

  it('refuses a secret that is not {"username","password"}, without quoting it', async () => {
    const arn = world.putSecret('us-west-2', 'mq-crdr/bad', 'hunter2-plain');
    const error = await readBrokerSecret(arn, { endpoint: sim.endpoint }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(String(error)).not.toContain('hunter2');
  });

  it("asks the secret's own Region: a Region that is down fails the read, the other Region's secret still reads", async () => {
    const east = world.putSecret('us-east-1', 'mq-crdr/orders-user', JSON.stringify({ username: 'recon', password: 'e' }));
    const west = world.putSecret('us-west-2', 'mq-crdr/orders-user', JSON.stringify({ username: 'recon', password: 'w' }));
    world.setRegionUp('us-east-1', false);
    try {
      await expect(readBrokerSecret(east, { endpoint: sim.endpoint })).rejects.toThrow();
      expect((await readBrokerSecret(west, { endpoint: sim.endpoint })).passcode).toBe('w');
    } finally {
      world.setRegionUp('us-east-1', true);
    }
  });
});
