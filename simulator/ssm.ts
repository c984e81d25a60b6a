/**
 * SSM Parameter Store as `@aws-sdk/client-ssm` speaks it (awsJson1_1: POST /, header
 * `x-amz-target: AmazonSSM.<Operation>`, errors as `{"__type", "message"}`), per Region: PutParameter and
 * GetParameter, what client redirection writes and what clients read. PutParameter takes injected faults.
 */
import * as v from 'valibot';
import { issuesOf } from '#lib/errors.ts';
import { AwsJsonError } from './aws-json.ts';
import { type CrdrWorld, SimError } from './world.ts';

export const SSM_TARGET_PREFIX = 'AmazonSSM.';

// Parameter Store's own limits (standard tier): names of letters, digits and . - _ / up to 2048, values to 4 KB.
const Name = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(2048),
  v.regex(/^[A-Za-z0-9_.\-/]+$/, 'letters, digits and . - _ / only'),
);
const PutParameter = v.object({
  Name,
  Value: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
  Type: v.optional(v.picklist(['String', 'StringList', 'SecureString']), 'String'),
  Overwrite: v.optional(v.boolean(), false),
  Description: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  DataType: v.optional(v.literal('text')),
});
const GetParameter = v.object({ Name, WithDecryption: v.optional(v.boolean()) });

const parse = <T extends v.GenericSchema>(schema: T, body: unknown): v.InferOutput<T> => {
  const parsed = v.safeParse(schema, body);
  if (!parsed.success) throw new AwsJsonError('ValidationException', 400, issuesOf(parsed.issues, 'request').join('; '));
  return parsed.output;
};

/** Amazon MQ-style simulator errors (Region down, injected faults) in SSM's own types. */
const asAwsJsonError = (error: SimError): AwsJsonError => {
  if (error.status === 429) return new AwsJsonError('ThrottlingException', 400, error.message);
  if (error.status >= 500) return new AwsJsonError('InternalServerError', 500, error.message);
  return new AwsJsonError('ValidationException', 400, error.message);
};

export function ssm(world: CrdrWorld, region: string, operation: string, body: unknown): unknown {
  try {
    switch (operation) {
      case 'PutParameter': {
        const input = parse(PutParameter, body);
        return world.withFault('PutParameter', () => {
          if (!input.Overwrite && world.getParameter(region, input.Name)) {
            throw new AwsJsonError(
              'ParameterAlreadyExists',
              400,
              'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
            );
          }
          const written = world.putParameter(region, { name: input.Name, value: input.Value, type: input.Type });
          return { Version: written.version, Tier: 'Standard' };
        });
      }
      case 'GetParameter': {
        const input = parse(GetParameter, body);
        const parameter = world.getParameter(region, input.Name);
        if (!parameter) throw new AwsJsonError('ParameterNotFound', 400, `Parameter ${input.Name} not found.`);
        return {
          Parameter: {
            Name: parameter.name,
            Type: parameter.type,
            Value: parameter.value,
            Version: parameter.version,
            LastModifiedDate: parameter.lastModified.getTime() / 1000,
            ARN: world.parameterArn(region, parameter.name),
            DataType: 'text',
          },
        };
      }
      default:
        throw new AwsJsonError('InvalidAction', 400, `the simulator does not implement SSM ${operation}`);
    }
  } catch (error) {
    throw error instanceof SimError ? asAwsJsonError(error) : error;
  }
}
