// The test pool (test/pid-namespace-pool.ts) runs each file as PID 1 of a PID namespace of its own.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { canUnshare } from '../pid-namespace-pool';

it('CI runs with the isolation: FLEET_DRAIN_TEST_REQUIRE_PID_NAMESPACE fails a run that cannot have it', () => {
  if (process.env.FLEET_DRAIN_TEST_REQUIRE_PID_NAMESPACE) expect(canUnshare).toBe(true);
});

it.runIf(canUnshare)(
  'this file runs as PID 1 of its own PID namespace, and sees only its own processes',
  async () => {
    expect(process.pid).toBe(1);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pids = readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .map(Number);
      // The worker, its sleep, and nothing of the other files running now (nor the host's).
      expect(pids.sort((a, b) => a - b)).toEqual([1, child.pid]);
    } finally {
      child.kill('SIGKILL');
    }
  },
);
