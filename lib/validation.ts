/**
 * zod/mini, the functional build of zod, is what the dedup SDK validates with (the orchestrator's functions use
 * valibot: lib/config.ts): the classic API carries every method of every schema into each bundle, while zod/mini
 * tree-shakes to the checks used. It shares zod's core, so its English messages are the same once its locale is
 * set: importing this module sets it, once. (Importers take `* as z from 'zod/mini'` themselves: a namespace
 * passed on from here would keep all of zod in the bundle.)
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
