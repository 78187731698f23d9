// Runs a program (no shell) with a deadline. On timeout or abort its whole process group is killed, so a
// prepare step that forked cannot outlive the drain.

import { spawn } from 'node:child_process';
import { errorCode, errorMessage } from '../../common/errors.js';

export interface CommandResult {
  /** Exit code, or null when it was killed by a signal or did not start. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why it did not start (ENOENT …). */
  spawnError?: string;
  durationMs: number;
}

/** How long output may still arrive after the program exited. */
const STDIO_GRACE_MS = 200;

/** Output kept per stream: enough for a diagnosis, small enough for the report. */
const OUTPUT_LIMIT = 64 * 1024;

export function runCommand(
  argv: readonly string[],
  timeoutMs: number,
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const [program, ...args] = argv as [string, ...string[]];
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills everything it started
      env: options.env ?? process.env,
    });
    let exited = false;
    const killGroup = () => {
      // After the program exited its group may be empty and its number reused: never kill it then.
      if (exited) return;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => killGroup();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += chunk.toString('utf8');
    });
    const finish = (result: Omit<CommandResult, 'stdout' | 'stderr' | 'timedOut' | 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, stdout, stderr, timedOut, durationMs: Math.round(performance.now() - started) });
    };
    child.on('error', (error: Error) =>
      finish({ exitCode: null, signal: null, spawnError: errorCode(error) ?? errorMessage(error) }),
    );
    // Resolve when the program exits, not when its output pipes close: a daemon it left behind (setsid)
    // may hold them open for ever. Output still in flight gets a moment, then the pipes are let go.
    child.on('exit', (exitCode, signal) => {
      exited = true;
      clearTimeout(timer);
      const done = () => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ exitCode, signal });
      };
      const grace = setTimeout(done, STDIO_GRACE_MS);
      child.on('close', () => {
        clearTimeout(grace);
        done();
      });
    });
  });
}

/** One line saying how a command ended, for logs and the report. */
export function describeResult(result: CommandResult): string | undefined {
  if (result.spawnError) return `could not start: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${result.durationMs}ms`;
  if (result.signal) return `killed by ${result.signal}`;
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').at(-1)?.slice(0, 200);
    return `exited ${result.exitCode}${tail ? `: ${tail}` : ''}`;
  }
  return undefined;
}
