#!/usr/bin/env node
/** The `mqdr` bin of the CLI package (packages/mqdr), compiled: plain Node runs it. */
import { main, processIo } from './mqdr.ts';

process.exitCode = await main(process.argv.slice(2), processIo());
