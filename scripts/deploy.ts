/**
 * `npm run deploy -- pairs/<pair>.yml [--stage NAME] [--package-only] [--out DIR]`: one pair, one file, one
 * command. Validates the pair file (valibot, every problem named), derives each Region's stack parameters (its own
 * broker as the local one, the other as the remote one), then runs `osls deploy` (or `osls package`) in both
 * Regions, one after the other.
 *
 * `--package-only` writes both templates and bundles offline to `<out>/<stage>/<region>` (default `dist`);
 * it needs no AWS credentials. A deploy refuses documentation values (AWS's sample broker IDs are not hex, and
 * hosts named `example`), so no placeholder reaches an account.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { commandLine } from '#dedup/command-line.ts';
import { PairIdSchema, RedirectProtocol, RegionCode, SsmParameterPath } from '#lib/config.ts';
import { issuesOf } from '#lib/errors.ts';

const Broker = v.strictObject({
  region: RegionCode,
  brokerId: v.pipe(v.string(), v.regex(/^b-[0-9a-z]{8}(-[0-9a-z]{4}){3}-[0-9a-z]{12}$/, 'a broker ID such as b-1a2b3c4d-…')),
  brokerName: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,50}$/, 'the broker name as created')),
  stompUrl: v.pipe(v.string(), v.regex(/^stomp(\+ssl)?:\/\/[^\s:]+:\d+$/, 'stomp+ssl://host:port of the broker')),
  /**
   * The Secrets Manager secret {"username","password"} of a broker user, in this Region (a replica of one
   * secret, or one of each): reconcile reads it at run time, by ARN; it is never resolved into the template.
   */
  secretArn: v.pipe(
    v.string(),
    v.regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'a Secrets Manager secret ARN'),
  ),
  /**
   * Private brokers: subnets and security groups of this Region's VPC from which the functions reach the
   * brokers' endpoints (both Regions' brokers: the primary's over peering or Transit Gateway).
   */
  vpc: v.optional(
    v.strictObject({
      subnetIds: v.pipe(v.array(v.pipe(v.string(), v.regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet ID'))), v.minLength(1)),
      securityGroupIds: v.pipe(
        v.array(v.pipe(v.string(), v.regex(/^sg-[0-9a-f]{8,17}$/, 'a security group ID'))),
        v.minLength(1),
      ),
    }),
  ),
});
/** Every named resource of a pair's stack starts with this (serverless.yml custom.prefix). */
export const prefixOf = (pairId: string, stage: string): string => `mq-crdr-${pairId}-${stage}`;
/** Lambda function names are at most 64 characters: the prefix, `-`, and the longest function name (11). */
const MAX_PREFIX = 64 - '-healthCheck'.length;
const whole = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const positive = v.pipe(v.number(), v.integer(), v.minValue(1));

export const PairFile = v.pipe(
  v.strictObject({
    pairId: PairIdSchema,
    stage: v.optional(PairIdSchema, 'prod'),
    brokers: v.pipe(v.array(Broker), v.length(2, 'exactly two brokers: one in each Region of the pair')),
    // The threshold in seconds: the CRDR metrics are times (docs/aws-facts.md).
    alarms: v.optional(
      v.strictObject({
        lagAlarmName: v.optional(
          v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.\-/]{1,255}$/, 'at most 255 of letters, digits, _ . - /')),
        ),
        lagSeconds: v.optional(whole(30, 3_600), 120),
      }),
      {},
    ),
    policies: v.partial(
      v.strictObject({
        deadlineSeconds: whole(30, 86_400),
        cooldownSeconds: whole(0, 86_400),
        probeFailureThreshold: whole(1, 100),
        probeTimeoutMs: whole(100, 30_000),
        probeEndpoints: v.picklist(['auto', 'on', 'off']),
        outageEscalationSeconds: whole(0, 86_400),
        dryRun: v.boolean(),
        failbackPolicy: v.picklist(['manual', 'automatic']),
      }),
    ),
    redirect: v.strictObject({
      parameter: SsmParameterPath,
      protocol: v.optional(RedirectProtocol, 'openwire'),
    }),
    dedup: v.strictObject({
      tableName: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{3,255}$/)),
      ownerRegion: RegionCode,
      consistency: v.optional(v.picklist(['MREC', 'MRSC']), 'MREC'),
      witnessRegion: v.optional(RegionCode),
      groups: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
      retentionSeconds: v.optional(positive, 604_800),
    }),
  }),
  v.check(
    (p) => prefixOf(p.pairId, p.stage).length <= MAX_PREFIX,
    `pairId and stage together too long: mq-crdr-<pairId>-<stage> must fit ${MAX_PREFIX} characters (Lambda function names)`,
  ),
  v.check((p) => p.brokers[0]?.region !== p.brokers[1]?.region, 'the two brokers must be in two Regions'),
  v.check(
    (p) => p.brokers.every((b) => b.secretArn.split(':')[3] === b.region),
    "each broker's secretArn must be in that broker's Region (reconcile reads it there, even when the other Region is down)",
  ),
  v.check(
    (p) => p.brokers.some((b) => b.region === p.dedup.ownerRegion),
    "dedup.ownerRegion must be one of the pair's two Regions",
  ),
  v.check(
    (p) => p.dedup.consistency === 'MREC' || p.dedup.witnessRegion !== undefined,
    'dedup.witnessRegion is required with MRSC',
  ),
);
export type PairFile = v.InferOutput<typeof PairFile>;

export class PairFileError extends Error {
  override name = 'PairFileError';
}

export function parsePairFile(text: string, file: string): PairFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new PairFileError(`${file} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = v.safeParse(PairFile, raw);
  if (!parsed.success) throw new PairFileError(`${file}: ${issuesOf(parsed.issues, 'pair').join('; ')}`);
  return parsed.output;
}

/** The stack parameters of the pair's stack in `region` (its broker local, the other remote). */
export function stackParams(pair: PairFile, region: string, stage = pair.stage): Record<string, string> {
  const local = pair.brokers.find((b) => b.region === region);
  const remote = pair.brokers.find((b) => b.region !== region);
  if (!local || !remote) throw new PairFileError(`${region} is not a Region of pair ${pair.pairId}`);
  const p = pair.policies;
  return {
    pairId: pair.pairId,
    localBrokerId: local.brokerId,
    localBrokerName: local.brokerName,
    remoteBrokerId: remote.brokerId,
    remoteBrokerName: remote.brokerName,
    remoteRegion: remote.region,
    lagAlarmName: pair.alarms.lagAlarmName ?? `${prefixOf(pair.pairId, stage)}-replication-lag`,
    lagAlarmSeconds: String(pair.alarms.lagSeconds),
    ...(local.vpc
      ? { brokerSubnetIds: local.vpc.subnetIds.join(','), brokerSecurityGroupIds: local.vpc.securityGroupIds.join(',') }
      : {}),
    redirectParameter: pair.redirect.parameter,
    redirectProtocol: pair.redirect.protocol,
    // The first broker's Region is deployed first and creates the pair-view global table.
    pairViewTableOwner: String(pair.brokers[0]?.region === region),
    dedupTableName: pair.dedup.tableName,
    dedupTableOwner: String(pair.dedup.ownerRegion === region),
    dedupConsistency: pair.dedup.consistency,
    ...(pair.dedup.witnessRegion ? { dedupWitnessRegion: pair.dedup.witnessRegion } : {}),
    dedupGroups: pair.dedup.groups.join(','),
    dedupRetentionSeconds: String(pair.dedup.retentionSeconds),
    // Reconcile drains the other broker (the old primary, after this Region's promotion) into this one.
    reconcileSourceUrl: remote.stompUrl,
    reconcileTargetUrl: local.stompUrl,
    brokerSecretArn: local.secretArn,
    ...(p.deadlineSeconds !== undefined ? { deadlineSeconds: String(p.deadlineSeconds) } : {}),
    ...(p.cooldownSeconds !== undefined ? { cooldownSeconds: String(p.cooldownSeconds) } : {}),
    ...(p.probeFailureThreshold !== undefined ? { probeFailureThreshold: String(p.probeFailureThreshold) } : {}),
    ...(p.probeTimeoutMs !== undefined ? { probeTimeoutMs: String(p.probeTimeoutMs) } : {}),
    ...(p.probeEndpoints !== undefined ? { probeEndpoints: p.probeEndpoints } : {}),
    ...(p.outageEscalationSeconds !== undefined ? { outageEscalationSeconds: String(p.outageEscalationSeconds) } : {}),
    ...(p.dryRun !== undefined ? { dryRun: String(p.dryRun) } : {}),
    ...(p.failbackPolicy !== undefined ? { failbackPolicy: p.failbackPolicy } : {}),
  };
}

/** Values that come from documentation, not from an account: a deploy refuses them. */
export function placeholders(pair: PairFile): string[] {
  const found: string[] = [];
  for (const b of pair.brokers) {
    if (!/^b-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(b.brokerId)) {
      found.push(`${b.region} brokerId ${b.brokerId} is not a real broker ID (not hex: a documentation sample)`);
    }
    if (/example/i.test(b.stompUrl)) found.push(`${b.region} stompUrl ${b.stompUrl} names an example host`);
  }
  return found;
}

const run = (args: string[]): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn('npx', ['osls', ...args], { stdio: 'inherit', env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } });
    child.once('exit', (code) => resolve(code ?? 1));
  });

async function main(): Promise<number> {
  const usage = `usage: npm run deploy -- pairs/<pair>.yml [--stage NAME] [--package-only] [--out DIR]

Deploys the pair's stack in both of its Regions (osls), each with its own broker as the local one.
  --stage NAME      the stage (default: the file's stage, else prod)
  --package-only    package both Regions offline to <out>/<stage>/<region>, deploy nothing
  --out DIR         where --package-only writes (default dist)
  --version, --help`;
  const { values, positionals } = commandLine(
    'deploy',
    usage,
    {
      stage: { type: 'string' },
      'package-only': { type: 'boolean', default: false },
      out: { type: 'string', default: 'dist' },
    },
    { positionals: true, versionOf: import.meta.url },
  );
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    console.error(`deploy: ${file ? 'one pair file at a time' : 'name the pair file'}; see deploy --help`);
    return 2;
  }
  let pair: PairFile;
  try {
    pair = parsePairFile(await readFile(file, 'utf8'), file);
  } catch (error) {
    console.error(error instanceof PairFileError ? error.message : `cannot read ${file}: ${(error as Error).message}`);
    return 2;
  }
  const packageOnly = values['package-only'];
  const fake = placeholders(pair);
  if (!packageOnly && fake.length > 0) {
    console.error(`refusing to deploy ${file}: ${fake.join('; ')}. Fill in your own pair (--package-only packages it as it is).`);
    return 2;
  }
  const stage = values.stage ?? pair.stage;
  const parsedStage = v.safeParse(PairIdSchema, stage);
  if (!parsedStage.success || prefixOf(pair.pairId, stage).length > MAX_PREFIX) {
    console.error(
      `deploy: --stage ${stage}: letters, digits, - and _, and mq-crdr-<pairId>-<stage> at most ${MAX_PREFIX} characters`,
    );
    return 2;
  }
  for (const { region } of pair.brokers) {
    const params = Object.entries(stackParams(pair, region, stage)).map(([k, v]) => `--param=${k}=${v}`);
    const out = join(values.out, stage, region);
    const args = packageOnly
      ? ['package', '--region', region, '--stage', stage, '--package', out, ...params]
      : ['deploy', '--region', region, '--stage', stage, ...params];
    console.log(
      `${packageOnly ? 'packaging' : 'deploying'} ${pair.pairId} (stage ${stage}) in ${region}${packageOnly ? ` to ${out}` : ''}`,
    );
    const code = await run(args);
    if (code !== 0) {
      console.error(
        `${region}: osls ${args[0]} failed (exit ${code})${packageOnly ? '' : '; the other Region was not touched after it'}`,
      );
      return code;
    }
  }
  return 0;
}

// Run as a command, not when a test imports the parsing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
