// The test pool: each test file runs in a vitest worker that is PID 1 of a PID namespace of its own
// (`unshare --pid --fork --mount-proc`). What a file starts (fixture workers, agents, their children) is
// invisible to every other file, so a policy that matches more than its own fixtures cannot signal another
// file's processes; and when the worker stops, the kernel kills whatever the file left behind.
// Where unshare is not permitted (not root), files run in plain forks instead; `.ci/run` sets
// FLEET_DRAIN_TEST_REQUIRE_PID_NAMESPACE, so that CI fails rather than lose the isolation.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { PoolOptions, PoolRunnerInitializer, PoolWorker, WorkerRequest } from 'vitest/node';

export const canUnshare = (() => {
  try {
    execFileSync('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'true'], {
      stdio: 'ignore',
      timeout: 5000,
    });
    return true;
  } catch {
    return false;
  }
})();

/**
 * The workers alive now. unshare holds SIGINT and SIGTERM, and a PID 1 ignores the signals it has no handler
 * for, so only SIGKILL stops a worker: when vitest exits (Ctrl-C, a timeout), it takes them with it.
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

class PidNamespaceWorker implements PoolWorker {
  readonly name = 'pid-namespace';
  readonly cacheFs = true;
  private child: ChildProcess | undefined;

  constructor(private readonly options: PoolOptions) {}

  private get process(): ChildProcess {
    if (!this.child) throw new Error('the test worker was stopped or never started');
    return this.child;
  }

  on(event: string, callback: (arg: unknown) => void): void {
    this.process.on(event, callback);
  }

  off(event: string, callback: (arg: unknown) => void): void {
    this.process.off(event, callback);
  }

  send(message: WorkerRequest): void {
    this.process.send(message);
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const entrypoint = resolve(this.options.distPath, 'workers/forks.js');
    // --kill-child: the worker dies with unshare, and with the worker (PID 1) the whole namespace.
    const child = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        '--',
        process.execPath,
        ...this.options.execArgv,
        entrypoint,
      ],
      { env: this.options.env, stdio: ['pipe', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' },
    );
    const logger = this.options.project.vitest.logger;
    child.stdout?.pipe(logger.outputStream, { end: false });
    child.stderr?.pipe(logger.errorStream, { end: false });
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    // unshare holds SIGTERM while it waits for its child: SIGKILL, which takes down the whole namespace.
    // (vitest's --cpu-prof and --heap-prof, written on a graceful exit, are not supported.)
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((done) => child.once('exit', () => done()));
    child.kill('SIGKILL');
    await exited;
  }
}

/** The pool for vitest's `pool` option: `pid-namespace` where unshare works, else `forks`. */
export const testPool: PoolRunnerInitializer | 'forks' = canUnshare
  ? { name: 'pid-namespace', createPoolWorker: (options) => new PidNamespaceWorker(options) }
  : 'forks';
