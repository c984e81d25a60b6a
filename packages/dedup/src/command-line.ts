/**
 * The command line of the reconcile bin and of the repository's scripts (drill, deploy, local, bench): `--help` and
 * `--version` on each, and bad arguments as one clear line and exit code 2, instead of a stack trace. commander
 * parses, as it does for mqdr: one argument parser for every command. Not part of the package's public API.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';

/**
 * The version in the nearest package.json above `from` (a module's URL): the package's own, whether the module runs
 * from its sources or from a build, at whatever depth.
 */
export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

/** An option, as node:util's parseArgs declares one. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[];
}

type Value<O> = O extends { type: 'boolean' } ? boolean : O extends { multiple: true } ? string[] : string;
/** The parsed options, by their names as declared: those with a default are always there. */
export type Values<T> = { [K in keyof T as T[K] extends { default: unknown } ? K : never]: Value<T[K]> } & {
  [K in keyof T as T[K] extends { default: unknown } ? never : K]?: Value<T[K]>;
};

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parses argv for `name`: prints `usage` (`--help`) or the version of the package `versionOf` is in (`--version`) and
 * exits 0, or one line and exits 2 on bad input.
 */
export function commandLine<T extends Record<string, OptionSpec>>(
  name: string,
  usage: string,
  options: T,
  { positionals = false, versionOf = import.meta.url }: { positionals?: boolean; versionOf?: string } = {},
): { values: Values<T>; positionals: string[] } {
  const command = new Command(name)
    .version(`${name} ${packageVersion(versionOf)}`, '--version')
    .exitOverride()
    // commander's own errors are worded below, in one line.
    .configureOutput({ writeErr: () => {} });
  command.helpInformation = () => `${usage}\n`;
  if (positionals) command.argument('[args...]');
  for (const [key, spec] of Object.entries(options)) {
    const option = new Option(`${spec.short ? `-${spec.short}, ` : ''}--${key}${spec.type === 'string' ? ' <value>' : ''}`);
    if (spec.multiple) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    if (spec.default !== undefined) option.default(spec.default);
    command.addOption(option);
  }
  try {
    command.parse(process.argv.slice(2), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) process.exit(0); // --help, --version
    const message =
      error instanceof Error
        ? (error.message
            .replace(/^error: /, '')
            .split('\n')[0]
            ?.replace(/\.$/, '') ?? '')
        : String(error);
    console.error(`${name}: ${message}; see ${name} --help`);
    process.exit(2);
  }
  const parsed = command.opts();
  const values = Object.fromEntries(
    Object.keys(options).flatMap((key) => (parsed[camel(key)] === undefined ? [] : [[key, parsed[camel(key)]]])),
  );
  return {
    values: values as Values<T>,
    positionals: positionals ? ((command.processedArgs[0] as string[] | undefined) ?? []) : [],
  };
}
