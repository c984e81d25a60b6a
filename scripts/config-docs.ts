/** `npm run docs:config`: writes docs/configuration.md from the configuration schema (lib/config-docs.ts). */
import { writeFileSync } from 'node:fs';
import { configurationMarkdown } from '#lib/config-docs.ts';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationMarkdown());
console.log('wrote docs/configuration.md');
