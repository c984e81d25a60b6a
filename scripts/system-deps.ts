/**
 * The Debian packages the test suite needs beyond npm: ActiveMQ (the dedup SDK's end-to-end test runs real
 * brokers; Java comes with it) and Chromium (the report is checked in a headless browser). `npm test` runs this
 * first (vitest's globalSetup), and so does `.ci/run`: on a fresh machine `npm install && npm test` is enough.
 * Installs what is missing when it can (root, or sudo without a password); otherwise it stops with one line
 * that says what to run. ACTIVEMQ_HOME and CHROMIUM_PATH point at installs elsewhere.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const PACKAGES = [
  {
    name: 'activemq',
    present: () => existsSync(join(process.env.ACTIVEMQ_HOME ?? '/usr/share/activemq', 'bin', 'activemq.jar')),
  },
  { name: 'chromium', present: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
] as const;

export class SystemDepsError extends Error {
  override name = 'SystemDepsError';
}

/** How to run apt-get here: directly as root, through sudo without a password, or not at all. */
function privilege(): string[] | undefined {
  if (process.getuid?.() === 0) return [];
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
}

export function ensureSystemDeps(log: (line: string) => void = (line) => console.error(line)): void {
  const missing = PACKAGES.filter((p) => !p.present()).map((p) => p.name);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const prefix = privilege();
  if (!prefix || spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new SystemDepsError(
      `the tests need Debian's ${missing.join(' and ')}: run \`sudo sh -c '${command}'\` (or set ACTIVEMQ_HOME / CHROMIUM_PATH), then npm test again`,
    );
  }
  log(`installing ${missing.join(', ')} for the tests (${command})`);
  const run = (args: string[]) => {
    const [file, ...rest] = [...prefix, ...args];
    execFileSync(file as string, rest, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
  const still = PACKAGES.filter((p) => !p.present()).map((p) => p.name);
  if (still.length > 0) throw new SystemDepsError(`apt-get installed nothing usable for ${still.join(', ')}: ${command}`);
}

/** vitest's globalSetup. */
export default function setup(): void {
  ensureSystemDeps();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    ensureSystemDeps((line) => console.log(line));
  } catch (error) {
    console.error(error instanceof SystemDepsError ? error.message : String(error));
    process.exitCode = 2;
  }
}
