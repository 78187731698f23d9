import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/longest-first';
import { testPool } from './test/pid-namespace-pool';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file in a PID namespace of its own: no file sees, or signals, another file's processes.
    pool: testPool,
    // Process tests spawn real workers; two cores cannot run many files at once without starving them.
    maxWorkers: 2,
    // Longest files first, so that no long file starts last while the other worker idles.
    sequence: { sequencer: LongestFirst },
    // The SDK's notice that its 2027 releases need Node 22 (this machine runs 20; the Lambda runs 22).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
