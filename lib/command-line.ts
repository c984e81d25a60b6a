/**
 * The command line of the project's scripts (drill, reconcile, deploy): `--help` and `--version` on each, and
 * bad arguments as one clear line and exit code 2, instead of node's stack trace. node:util's parseArgs does
 * the parsing; this only gives its errors a person's wording.
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** This package's version (the package.json above this module, in the repository and in a published package). */
export const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

type Value<O> = O extends { type: 'boolean' } ? boolean : O extends { multiple: true } ? string[] : string;
/** The parsed options: those with a default are always there. */
export type Values<T> = { [K in keyof T as T[K] extends { default: unknown } ? K : never]: Value<T[K]> } & {
  [K in keyof T as T[K] extends { default: unknown } ? never : K]?: Value<T[K]>;
};

/** Parses argv for `name`; prints the usage or the version and exits 0, or one line and exits 2 on bad input. */
export function commandLine<T extends NonNullable<ParseArgsConfig['options']>>(
  name: string,
  usage: string,
  options: T,
  { positionals = false }: { positionals?: boolean } = {},
): { values: Values<T>; positionals: string[] } {
  const all = {
    ...options,
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  } as const;
  try {
    const parsed = parseArgs({ options: all, allowPositionals: positionals, strict: true });
    // The two options every command has, whatever the caller's own are.
    const flags = parsed.values as { help?: boolean; version?: boolean };
    if (flags.help) {
      console.log(usage);
      process.exit(0);
    }
    if (flags.version) {
      console.log(`${name} ${packageVersion()}`);
      process.exit(0);
    }
    return parsed as unknown as { values: Values<T>; positionals: string[] };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    console.error(`${name}: ${message}; see ${name} --help`);
    process.exit(2);
  }
}
