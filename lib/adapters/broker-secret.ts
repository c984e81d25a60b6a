/**
 * The broker user's credentials, read from Secrets Manager by ARN when reconcile runs: never resolved into the
 * template (a dynamic reference puts the value in the function's configuration, and a rotation never reaches
 * it). The secret is read in its own Region, the one its ARN names.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as v from 'valibot';
import { ConfigurationError } from '../errors.ts';
import { BoundedHttpHandler, type CallTimeouts } from './http.ts';

const SecretString = v.object({ username: v.pipe(v.string(), v.minLength(1)), password: v.string() });

export interface BrokerCredentials {
  login: string;
  passcode: string;
}

export async function readBrokerSecret(
  arn: string,
  options: { endpoint?: string; timeouts?: CallTimeouts } = {},
): Promise<BrokerCredentials> {
  const region = arn.split(':')[3];
  if (!region) throw new ConfigurationError(`BROKER_SECRET_ARN ${arn} is not a Secrets Manager secret ARN`);
  const client = new SecretsManagerClient({
    region,
    requestHandler: new BoundedHttpHandler(options.timeouts ?? { connectMs: 3_000, requestMs: 5_000 }),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(out.SecretString ?? '');
    } catch {
      parsed = undefined;
    }
    const secret = v.safeParse(SecretString, parsed);
    // Never quote the value: it is a password.
    if (!secret.success) throw new ConfigurationError(`secret ${arn} is not JSON {"username": …, "password": …}`);
    return { login: secret.output.username, passcode: secret.output.password };
  } finally {
    client.destroy();
  }
}
