import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Process tests spawn real workers; two cores cannot run many files at once without starving them.
    maxWorkers: 2,
  },
});
