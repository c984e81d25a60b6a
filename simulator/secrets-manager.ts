/**
 * Secrets Manager as `@aws-sdk/client-secrets-manager` speaks it (awsJson1_1: POST /, header
 * `x-amz-target: secretsmanager.<Operation>`), per Region: GetSecretValue, which reconcile calls at run time.
 */
import * as v from 'valibot';
import { AwsJsonError } from './aws-json.ts';
import type { CrdrWorld } from './world.ts';

export const SECRETS_MANAGER_TARGET_PREFIX = 'secretsmanager.';

const GetSecretValue = v.object({ SecretId: v.pipe(v.string(), v.minLength(1), v.maxLength(2048)) });

export function secretsManager(world: CrdrWorld, region: string, operation: string, body: unknown): unknown {
  if (operation !== 'GetSecretValue') {
    throw new AwsJsonError('InvalidAction', 400, `the simulator does not implement Secrets Manager ${operation}`);
  }
  if (!world.isRegionUp(region)) {
    throw new AwsJsonError('InternalServiceError', 500, `Secrets Manager in ${region} is unavailable (simulated Region outage)`);
  }
  const input = v.safeParse(GetSecretValue, body);
  if (!input.success) throw new AwsJsonError('InvalidParameterException', 400, 'SecretId is required');
  const secret = world.secrets.get(input.output.SecretId);
  // A secret lives in one Region: asking another Region's endpoint for it finds nothing, as on AWS.
  if (!secret || secret.region !== region) {
    throw new AwsJsonError('ResourceNotFoundException', 400, "Secrets Manager can't find the specified secret.");
  }
  return { ARN: input.output.SecretId, Name: secret.name, SecretString: secret.value, VersionId: secret.versionId };
}
