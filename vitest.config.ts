import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Debian's ActiveMQ and Chromium, installed when missing and possible (scripts/system-deps.ts).
    globalSetup: ['scripts/system-deps.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
