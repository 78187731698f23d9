// The twin's EC2 instances: each one a PID namespace (`unshare --pid --fork --mount-proc`) whose init starts
// the instance's workers, with its own tmpfs on the agent's state dir, as a separate host would have. Where
// unshare is not permitted, an instance is a plain process group on the shared process table (see README).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RunResult } from './commands';

/** A process the instance runs from boot: a demo worker. */
export interface WorkerSpec {
  command: string[];
  env?: Record<string, string>;
}

export type IsolationMode = 'pid-namespace' | 'process-group';

/** The agent's state dir on a host (lib/drain-document.ts HOST_STATE_DIR); private per namespace. */
const HOST_STATE_DIR = '/run/fleet-drainer';
/** The document honours this instead of HOST_STATE_DIR; the fallback mode needs it (instances share /run). */
const STATE_DIR_OVERRIDE_ENV = 'FLEET_DRAIN_STATE_DIR';
/** Captured output beyond what SSM keeps is of no use; bound memory. */
const OUTPUT_CAPTURE_LIMIT = 64 * 1024;
const BOOT_TIMEOUT_MS = 10_000;

let probedMode: IsolationMode | undefined;

/** PID namespaces when this machine allows them (root, or unprivileged user namespaces), else process groups. */
export function isolationMode(): IsolationMode {
  if (probedMode === undefined) {
    try {
      execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], {
        stdio: 'ignore',
        timeout: 5000,
      });
      probedMode = 'pid-namespace';
    } catch {
      probedMode = 'process-group';
    }
  }
  return probedMode;
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The init of an instance: private state dir, the workers in the background, then reap children forever. */
function initScript(workers: WorkerSpec[], mode: IsolationMode): string {
  const lines = ['set -e'];
  if (mode === 'pid-namespace')
    lines.push(`mkdir -p ${HOST_STATE_DIR}`, `mount -t tmpfs -o mode=700 tmpfs ${HOST_STATE_DIR}`);
  for (const worker of workers) {
    const env = Object.entries(worker.env ?? {}).map(([name, value]) => `${name}=${quote(value)}`);
    lines.push(`env ${[...env, ...worker.command.map(quote)].join(' ')} </dev/null &`);
  }
  // bash reaps every child on SIGCHLD, including orphans re-parented to it as PID 1.
  lines.push('set +e', 'echo ready', 'while :; do sleep 1; done');
  return lines.join('\n');
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Absolute path of a program on the twin's own PATH (so a run can have a PATH without it). */
function which(program: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || program;
  } catch {
    return program;
  }
}

/** One running instance. */
export class InstanceHost {
  private vanished = false;
  /** The PATH a command's script runs with; default: the twin's node directory and the usual system dirs. */
  runPath = `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  private readonly runs = new Set<ChildProcess>();
  private readonly scratch = mkdtempSync(join(tmpdir(), 'fleet-twin-'));

  private constructor(
    readonly instanceId: string,
    readonly mode: IsolationMode,
    private readonly init: ChildProcess,
    /** PID (in the twin's namespace) of the process that is PID 1 inside the instance. */
    readonly initPid: number,
  ) {}

  static async boot(
    instanceId: string,
    workers: WorkerSpec[],
    mode = isolationMode(),
  ): Promise<InstanceHost> {
    const script = initScript(workers, mode);
    const init =
      mode === 'pid-namespace'
        ? spawn('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-c', script], {
            detached: true,
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // Kept for the boot error only: unshare complains on stderr when its namespace is killed.
    let stderr = '';
    init.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_CAPTURE_LIMIT) stderr += chunk.toString();
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`instance ${instanceId} did not boot in ${BOOT_TIMEOUT_MS} ms`)),
        BOOT_TIMEOUT_MS,
      );
      init.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      init.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`instance ${instanceId} init exited with ${code}: ${stderr.trim()}`));
      });
    });
    try {
      await ready;
    } catch (error) {
      killGroup(init.pid);
      throw error;
    }
    const pid = init.pid as number;
    const initPid = mode === 'pid-namespace' ? (childPids(pid)[0] ?? pid) : pid;
    return new InstanceHost(instanceId, mode, init, initPid);
  }

  /**
   * Runs a script as the SSM Agent's aws:runShellScript does: written to `_script.sh` and run by `sh` as root
   * in its own process group, inside the instance. `done` is not called if the instance vanishes meanwhile.
   */
  run(script: string, env: Record<string, string>, done: (result: RunResult) => void): { kill(): void } {
    const dir = mkdtempSync(join(this.scratch, 'run-'));
    const file = join(dir, '_script.sh');
    writeFileSync(file, script, { mode: 0o700 });
    const runEnv: Record<string, string> = {
      PATH: this.runPath,
      HOME: '/root',
      ...env,
      ...(this.mode === 'process-group' ? { [STATE_DIR_OVERRIDE_ENV]: join(this.scratch, 'state') } : {}),
    };
    const child =
      this.mode === 'pid-namespace'
        ? spawn(NSENTER, ['--target', String(this.initPid), '--pid', '--mount', '--', SH, file], {
            detached: true,
            cwd: dir,
            env: runEnv,
          })
        : spawn(SH, [file], { detached: true, cwd: dir, env: runEnv });
    this.runs.add(child);
    let stdout = '';
    let stderr = '';
    // Decoded across chunks, so that a character split between two reads is not turned into U+FFFDs.
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < OUTPUT_CAPTURE_LIMIT) stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < OUTPUT_CAPTURE_LIMIT) stderr += chunk;
    });
    child.once('close', (code, signal) => {
      this.runs.delete(child);
      if (this.vanished) return;
      const signalNumber = signal === null ? 0 : (SIGNAL_NUMBERS[signal] ?? 9);
      done({ exitCode: code ?? 128 + signalNumber, stdout, stderr });
    });
    child.once('error', (error) => {
      this.runs.delete(child);
      if (!this.vanished) done({ exitCode: 127, stdout, stderr: `${stderr}${error.message}` });
    });
    return { kill: () => killGroup(child.pid) };
  }

  /**
   * Sends `signal` to every process of this instance whose command line matches `pattern` (e.g. SIGKILL to
   * the drain agent, as the OOM killer would). Only PID-namespace instances can tell their own processes.
   * Returns the PIDs (in the twin's namespace) that were signalled.
   */
  signalProcesses(pattern: RegExp, signal: NodeJS.Signals): number[] {
    if (this.mode !== 'pid-namespace') throw new Error('twin: signalProcesses needs PID namespaces');
    const namespace = readlinkSync(`/proc/${this.initPid}/ns/pid`);
    const signalled: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/ns/pid`) !== namespace) continue;
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
        if (!pattern.test(cmdline)) continue;
        process.kill(Number(entry), signal);
        signalled.push(Number(entry));
      } catch {
        // Exited meanwhile.
      }
    }
    return signalled;
  }

  /** The host dies at once: everything in it is killed, and SSM never hears back from it. */
  vanish(): void {
    this.vanished = true;
    this.stop();
  }

  /** Kills the instance and every process in it, and removes its scratch files. */
  stop(): void {
    for (const child of this.runs) killGroup(child.pid);
    if (this.mode === 'pid-namespace') {
      try {
        process.kill(this.initPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    killGroup(this.init.pid);
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** Whether the instance's init is still running. */
  get alive(): boolean {
    return this.init.exitCode === null && this.init.signalCode === null;
  }
}

const SH = which('sh');
const NSENTER = which('nsenter');

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};
