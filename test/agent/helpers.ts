// Helpers for tests that run the real agent bundle against real fixture processes.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DrainReport } from '../../agent/report/report.js';

export const AGENT = fileURLToPath(new URL('../../dist/fleet-drain-agent.js', import.meta.url));
/**
 * The node that runs the agent: FLEET_DRAIN_TEST_NODE when set (.ci/run sets it to Node 18, the oldest the
 * document accepts, see scripts/node18.sh), else the node running the tests.
 */
export const AGENT_NODE = process.env.FLEET_DRAIN_TEST_NODE || process.execPath;
/** Whether this machine lets the tests run the agent in a PID namespace of its own (root, or user namespaces). */
export const canUnshare = (() => {
  try {
    execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

export interface FixtureRecord {
  pid: number;
  role: string;
  event: 'ready' | 'signal' | 'exit';
  signal?: string;
  how?: string;
}

/** A scratch folder with a shared fixture log; `cleanup` kills every fixture and removes the folder. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleet-drain-test-'));
  readonly log = join(this.dir, 'fixtures.log');
  readonly stateDir = join(this.dir, 'state');
  private readonly children: ChildProcess[] = [];
  /** A unique tag in every fixture's command line, so a policy matches this test's fixtures only. */
  readonly tag = `fdt${process.pid}x${Math.random().toString(36).slice(2, 8)}`;

  constructor() {
    writeFileSync(this.log, '');
  }

  /** Starts a fixture in its own session (as a service manager would) and waits until it is ready. */
  async start(
    fixture: string,
    options: { env?: Record<string, string>; args?: string[]; ready?: number } = {},
  ) {
    const program = fixture.endsWith('.sh') ? join(FIXTURES, fixture) : process.execPath;
    const args = fixture.endsWith('.sh')
      ? (options.args ?? [])
      : [join(FIXTURES, fixture), this.tag, ...(options.args ?? [])];
    const before = this.records().filter((r) => r.event === 'ready').length;
    const child = spawn(program, args, {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, FIXTURE_LOG: this.log, ...options.env },
    });
    this.children.push(child);
    await this.waitFor(
      (records) => records.filter((r) => r.event === 'ready').length >= before + (options.ready ?? 1),
    );
    return child;
  }

  records(): FixtureRecord[] {
    return readFileSync(this.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as FixtureRecord);
  }

  signalsOf(pid: number): string[] {
    return this.records()
      .filter((r) => r.pid === pid && r.event === 'signal')
      .map((r) => r.signal as string);
  }

  async waitFor(predicate: (records: FixtureRecord[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!predicate(this.records())) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for fixtures; log:\n${readFileSync(this.log, 'utf8')}`);
      await sleep(20);
    }
  }

  /** `drain` of this policy file under this id, with this sandbox's state folder, then `extra`. */
  drainArgs(policy: string, id = 'drain-1', ...extra: string[]): string[] {
    return ['drain', '--config', policy, '--id', id, '--state-dir', this.stateDir, ...extra];
  }

  policy(policy: unknown): string {
    const file = join(this.dir, `policy-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(policy));
    return file;
  }

  cleanup(): void {
    for (const child of this.children) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // Orphans that left the group (none should) are found by tag.
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The summary line `drain` prints first, when there is one. */
  summary: string | undefined;
  report: DrainReport;
}

/** Splits what `drain` or `plan` prints: the summary line, then the JSON (or another command's JSON). */
export function splitOutput(stdout: string): { summary: string | undefined; json: string } {
  if (!stdout.startsWith('fleet-drain v1 ') && !stdout.startsWith('fleet-drain-plan v1 '))
    return { summary: undefined, json: stdout };
  const newline = stdout.indexOf('\n');
  return { summary: stdout.slice(0, newline), json: stdout.slice(newline + 1) };
}

/** The JSON that a command printed (after the summary line of `drain`). */
export const parseJson = (stdout: string): unknown => JSON.parse(splitOutput(stdout).json);

export interface AgentOptions {
  env?: Record<string, string>;
  input?: string;
  /** Run this program with `args` instead of the agent (e.g. setpriv wrapping it). */
  program?: string;
}

/** Starts the agent bundle; `done` resolves when it exits. */
export function startAgent(args: string[], options: AgentOptions = {}) {
  const [program, argv] = options.program ? [options.program, args] : [AGENT_NODE, [AGENT, ...args]];
  const child = spawn(program, argv, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(options.input ?? '');
  const done = new Promise<AgentRun>((resolve) => {
    child.on('close', (code) => {
      let report = undefined as unknown as DrainReport;
      const { summary, json } = splitOutput(stdout);
      try {
        report = JSON.parse(json) as DrainReport;
      } catch {
        // Not every command prints a report.
      }
      resolve({ code, stdout, stderr, summary, report });
    });
  });
  return { child, done };
}

export const runAgent = (args: string[], options: AgentOptions = {}) => startAgent(args, options).done;

/** Waits until the agent's stderr shows a log line with this message. */
export async function waitForLog(
  getStderr: () => string,
  message: string,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!getStderr().includes(`"message":"${message}"`)) {
    if (Date.now() > end) throw new Error(`agent never logged "${message}"; stderr:\n${getStderr()}`);
    await sleep(20);
  }
}

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
};

/**
 * A shell command that waits until `file` exists (the test creates it once it saw what it waits for), for at
 * most `seconds`, and fails if it never appears: a step held on an event, not on a guess at how long it takes.
 */
export const untilFileExists = (file: string, seconds = 20): string =>
  `i=0; while [ ! -e '${file}' ] && [ $i -lt ${seconds * 20} ]; do sleep 0.05; i=$((i+1)); done; [ -e '${file}' ]`;
