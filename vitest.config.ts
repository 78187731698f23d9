import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Process tests spawn real workers; two cores cannot run many files at once without starving them.
    maxWorkers: 2,
    // The SDK's notice that its 2027 releases need Node 22 (this machine runs 20; the Lambda runs 22).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
