// Runs a program (no shell) with a deadline. On timeout or abort its whole process group is killed, so a
// prepare step that forked cannot outlive the drain.

import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
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

/** How often `mayGoOn` is asked while the program runs. */
const RECHECK_MS = 200;

/** Output kept per stream: enough for a diagnosis, small enough for the report. */
const OUTPUT_LIMIT = 64 * 1024;

export function runCommand(
  argv: readonly string[],
  timeoutMs: number,
  options: {
    signal?: AbortSignal;
    env?: NodeJS.ProcessEnv;
    /** Asked every RECHECK_MS with the time run so far: false ends the program as a timeout would. */
    mayGoOn?: (elapsedMs: number) => boolean;
  } = {},
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const [program, ...args] = argv as [string, ...string[]];
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills everything it started
      env: options.env ?? process.env,
    });
    const output = collectOutput(child);
    const group = processGroup(child);
    let timedOut = false;
    const timeout = () => {
      timedOut = true;
      group.kill();
    };
    const timer = setTimeout(timeout, timeoutMs);
    const { mayGoOn } = options;
    const recheck = mayGoOn
      ? setInterval(() => mayGoOn(performance.now() - started) || timeout(), RECHECK_MS)
      : undefined;
    options.signal?.addEventListener('abort', group.kill, { once: true });
    let settled = false;
    const finish = (result: Omit<CommandResult, 'stdout' | 'stderr' | 'timedOut' | 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(recheck);
      options.signal?.removeEventListener('abort', group.kill);
      const durationMs = Math.round(performance.now() - started);
      resolve({ ...result, stdout: output.stdout, stderr: output.stderr, timedOut, durationMs });
    };
    child.on('error', (error: Error) =>
      finish({ exitCode: null, signal: null, spawnError: errorCode(error) ?? errorMessage(error) }),
    );
    whenExited(child, {
      onExit: () => {
        group.exited = true;
        clearTimeout(timer);
        clearInterval(recheck);
      },
      onOutputDone: (exitCode, signal) => finish({ exitCode, signal }),
    });
  });
}

/** The first OUTPUT_LIMIT characters or so of each stream. */
function collectOutput(child: ChildProcessByStdio<null, Readable, Readable>): {
  stdout: string;
  stderr: string;
} {
  const output = { stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      if (output[stream].length < OUTPUT_LIMIT) output[stream] += chunk.toString('utf8');
    });
  }
  return output;
}

/** Kills the child's whole process group, unless the child has exited. */
function processGroup(child: ChildProcess): { exited: boolean; kill: () => void } {
  const group = {
    exited: false,
    kill: () => {
      // After the program exited its group may be empty and its number reused: never kill it then.
      if (group.exited) return;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
  return group;
}

/**
 * Done when the program exits, not when its output pipes close: a daemon it left behind (setsid) may hold
 * them open for ever. Output still in flight gets STDIO_GRACE_MS, then the pipes are let go.
 */
function whenExited(
  child: ChildProcessByStdio<null, Readable, Readable>,
  handlers: {
    onExit: () => void;
    onOutputDone: (exitCode: number | null, signal: NodeJS.Signals | null) => void;
  },
): void {
  child.on('exit', (exitCode, signal) => {
    handlers.onExit();
    const done = () => {
      child.stdout.destroy();
      child.stderr.destroy();
      handlers.onOutputDone(exitCode, signal);
    };
    const grace = setTimeout(done, STDIO_GRACE_MS);
    child.on('close', () => {
      clearTimeout(grace);
      done();
    });
  });
}

/** The last line of stderr a failed command is described by, at most this long. */
const STDERR_TAIL_MAX_CHARS = 200;

/** One line saying how a command ended, for logs and the report. */
export function describeResult(result: CommandResult): string | undefined {
  if (result.spawnError) return `could not start: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${result.durationMs}ms`;
  if (result.signal) return `killed by ${result.signal}`;
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').at(-1)?.slice(0, STDERR_TAIL_MAX_CHARS);
    return `exited ${result.exitCode}${tail ? `: ${tail}` : ''}`;
  }
  return undefined;
}
