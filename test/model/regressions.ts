/** Scenarios the model-based test once failed on, shrunk by fast-check; each is played before the random ones. */
import type { Scenario } from './model.ts';

export const REGRESSIONS: Array<{ name: string; scenario: Scenario }> = [];
