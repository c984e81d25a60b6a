#!/usr/bin/env node
// The CLI runs from its TypeScript sources through tsx, as the rest of the project does.
import { register } from 'tsx/esm/api';

register();
const { main, processIo } = await import('../cli/mqdr.ts');
process.exitCode = await main(process.argv.slice(2), processIo());
