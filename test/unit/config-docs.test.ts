/** docs/configuration.md is the schema's: it cannot drift, and no variable goes undescribed. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown, DESCRIPTIONS, entries } from '#lib/config-docs.ts';

describe('the configuration page', () => {
  it('describes every variable of the schema, and nothing else', () => {
    expect(Object.keys(DESCRIPTIONS).sort()).toEqual(Object.keys(entries()).sort());
  });

  it('is what the schema generates (run npm run docs:config after changing lib/config.ts)', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(configurationMarkdown());
  });

  it('gives defaults and bounds from the schema itself', () => {
    const page = configurationMarkdown();
    expect(page).toContain('| `DEADLINE_SECONDS` | `600` | 30 to 86400 |');
    expect(page).toContain('| `PROBE_ENDPOINTS` | `auto` | `auto`, `on`, `off` |');
    expect(page).toContain('| `PAIR_ID` | required |');
  });
});
