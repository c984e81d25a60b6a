/**
 * The two packages as a team installs them: `npm pack` of @mq-crdr/dedup and @mq-crdr/mqdr, the tarballs
 * unpacked into a scratch project's node_modules (their dependencies linked from this repository's install, so
 * that the test makes no network call), then used from plain Node and from a TypeScript consumer with NodeNext
 * settings: the SDK against dynalite, the CLI against the embedded default's API.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Embedded, LOCAL_CREDENTIALS, ManualClock, startDynalite, startEmbedded } from '#simulator/embedded.ts';

const run = promisify(execFile);
const ROOT = resolve('.');
let scratch: string;
let db: Awaited<ReturnType<typeof startDynalite>>;
let e: Embedded;
const packed: Record<string, { filename: string; files: Array<{ path: string }>; size: number; unpackedSize: number }> = {};

interface Lock {
  packages: Record<
    string,
    {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    }
  >;
}

/** The packages npm would install for `name`: its dependencies and required peers, and theirs, from the lockfile. */
async function installTree(manifest: {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}): Promise<Set<string>> {
  const lock = JSON.parse(await readFile('package-lock.json', 'utf8')) as Lock;
  const seen = new Set<string>();
  const requiredPeers = (m: typeof manifest) =>
    Object.keys(m.peerDependencies ?? {}).filter((p) => !m.peerDependenciesMeta?.[p]?.optional);
  const queue = [...Object.keys(manifest.dependencies ?? {}), ...requiredPeers(manifest)];
  for (let name = queue.shift(); name; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const entry = lock.packages[`node_modules/${name}`];
    if (entry) queue.push(...Object.keys(entry.dependencies ?? {}), ...requiredPeers(entry));
  }
  return seen;
}

async function unpack(tarball: string, name: string): Promise<void> {
  const into = join(scratch, 'node_modules', name);
  await mkdir(into, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', into, '--strip-components=1']);
}

async function link(names: Iterable<string>): Promise<void> {
  for (const name of names) {
    const at = join(scratch, 'node_modules', name);
    await mkdir(dirname(at), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), at).catch(() => undefined);
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'mq-crdr-consumer-'));
  const out = await run('npm', ['pack', '-w', 'packages/dedup', '-w', 'packages/mqdr', '--pack-destination', scratch, '--json'], {
    timeout: 120_000,
  });
  for (const p of JSON.parse(out.stdout.slice(out.stdout.indexOf('['))) as Array<{ name: string } & (typeof packed)[string]>) {
    packed[p.name] = p;
    await unpack(join(scratch, p.filename), p.name);
  }
  const dedup = JSON.parse(await readFile('packages/dedup/package.json', 'utf8'));
  const mqdr = JSON.parse(await readFile('packages/mqdr/package.json', 'utf8'));
  // What npm would install beside them, plus the optional peers this consumer uses, plus Node's types.
  await link(
    new Set([...(await installTree(dedup)), ...(await installTree(mqdr)), '@aws-sdk/client-ssm', '@middy/core', '@types/node']),
  );
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  db = await startDynalite();
  e = await startEmbedded({ clock: new ManualClock(Date.parse('2026-11-23T09:00:00Z')) });
}, 180_000);

afterAll(async () => {
  await e?.close();
  await db?.close();
});

describe('@mq-crdr/dedup, packed and installed', () => {
  it('ships compiled JavaScript and declarations only, and no build or CLI tool in what it installs', async () => {
    const files = packed['@mq-crdr/dedup']?.files.map((f) => f.path) ?? [];
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const tree = await installTree(JSON.parse(await readFile('packages/dedup/package.json', 'utf8')));
    // commander parses the reconcile bin's arguments (one parser for every command); no build tool comes along.
    for (const tool of ['tsx', 'esbuild', 'typescript', 'osls', 'vitest', 'zod']) expect(tree.has(tool), tool).toBe(false);
    console.log(
      `@mq-crdr/dedup: ${files.length} files, ${packed['@mq-crdr/dedup']?.size} bytes packed; installs ${tree.size} packages`,
    );
  });

  it('imports from plain Node and processes a message once against DynamoDB (dynalite)', async () => {
    const script = `
      import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
      import { createDedupTable, DedupStore, processOnce } from '@mq-crdr/dedup';
      import { startFollowingConsumer } from '@mq-crdr/dedup/follow';
      const client = new DynamoDBClient({ region: 'us-east-1', endpoint: process.env.DDB, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      await createDedupTable(client, 'dedup');
      const store = new DedupStore({ client, tableName: 'dedup', group: 'fulfilment', region: 'us-east-1' });
      let runs = 0;
      const first = await processOnce(store, 'ID:1', async () => { runs++; });
      const again = await processOnce(store, 'ID:1', async () => { runs++; });
      console.log(JSON.stringify({ first: first.status, again: again.status, runs, follow: typeof startFollowingConsumer }));
    `;
    await writeFile(join(scratch, 'consumer.mjs'), script);
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: scratch, env: { ...process.env, DDB: db.endpoint } });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(result).toEqual({ first: 'processed', again: 'duplicate', runs: 1, follow: 'function' });
  });

  it('type-checks in a TypeScript consumer with NodeNext settings: 0 errors, libraries checked too', async () => {
    await writeFile(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    await writeFile(
      join(scratch, 'consumer.ts'),
      `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
       import { DedupStore, type Outcome, processOnce, mqDedup, DedupThrottledError } from '@mq-crdr/dedup';
       import { SsmBrokerUrl } from '@mq-crdr/dedup/follow';
       import { SSMClient } from '@aws-sdk/client-ssm';
       const store = new DedupStore({ client: new DynamoDBClient({}), tableName: 't', group: 'g', region: 'us-east-1' });
       export const outcome: Promise<Outcome<number>> = processOnce(store, 'ID:1', async () => 42);
       export const middleware = mqDedup({ store });
       export const source = new SsmBrokerUrl(new SSMClient({}), '/mq-crdr/orders/broker-url');
       export const isThrottle = (e: unknown): boolean => e instanceof DedupThrottledError;
      `,
    );
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: scratch }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe('');
  });

  it('ships its reconcile command as a bin', async () => {
    const { stdout } = await run(process.execPath, ['node_modules/@mq-crdr/dedup/dist/reconcile-cli.js', '--help'], {
      cwd: scratch,
    });
    expect(stdout).toContain('usage: mq-crdr-reconcile --from URL --to URL');
  });
});

describe('@mq-crdr/mqdr, packed and installed', () => {
  it('runs with plain Node: --version, and status of the pair through the API', async () => {
    const mqdr = 'node_modules/@mq-crdr/mqdr/dist/mqdr.js';
    const version = await run(process.execPath, [mqdr, '--version'], { cwd: scratch });
    expect(version.stdout.trim()).toBe(JSON.parse(await readFile('packages/mqdr/package.json', 'utf8')).version);
    const status = await run(process.execPath, [mqdr, '--endpoint', e.apiEndpoint, 'status', 'orders', '--json'], {
      cwd: scratch,
      // The published CLI has no credentials of its own: the embedded default's, as a user of `npm run local` sets them.
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      },
    });
    expect(JSON.parse(status.stdout)).toMatchObject({ pairId: 'orders', local: { role: 'REPLICA' } });
    const tree = await installTree(JSON.parse(await readFile('packages/mqdr/package.json', 'utf8')));
    for (const tool of ['tsx', 'esbuild', 'typescript']) expect(tree.has(tool), tool).toBe(false);
  });
});
