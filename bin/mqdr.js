#!/usr/bin/env node
// The CLI runs from its TypeScript sources through tsx, as the rest of the project does.
import { register } from 'tsx/esm/api';

register();
const { main, processIo } = await import('../packages/mqdr/src/mqdr.ts');
// Here only (the repository's launcher, not the published bin): the embedded default's credentials for a loopback API.
const { LOCAL_CREDENTIALS } = await import('../simulator/local-credentials.ts');
process.exitCode = await main(process.argv.slice(2), { ...processIo(), localCredentials: LOCAL_CREDENTIALS });
