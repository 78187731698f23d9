// Idempotence on the host. EventBridge and Lambda retries can deliver one drain twice, and many workers take
// a second graceful signal as "abort now". So each drain id has a lock (who runs it) and a state file (how
// far it got, then its report) in the state dir: a duplicate joins the running drain or replays the report,
// and a drain whose agent died resumes where it stood instead of starting its schedule again.

import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ProcReader } from './proc.js';
import type { DrainReport, ProcessReport } from './report.js';

export const DEFAULT_STATE_DIR = '/run/fleet-drainer';

/** Progress of one target, written before every step so a successor never repeats a signal. */
export interface TargetProgress {
  step: number;
  stepStartedMs: number;
  processes: (ProcessReport & { startTime?: number; matched?: boolean })[];
}

export interface DrainState {
  id: string;
  status: 'running' | 'finished';
  startedAt: string;
  deadline?: string;
  /** Prepare steps already run (a resumed drain skips them). */
  prepareDone: number;
  phase: 'prepare' | 'targets' | 'finally';
  targets: Record<string, TargetProgress>;
  report?: DrainReport;
}

interface LockOwner {
  pid: number;
  startTime: number;
}

export type Acquired =
  | { kind: 'owner'; previous?: DrainState }
  | { kind: 'running'; owner: LockOwner }
  | { kind: 'finished'; state: DrainState };

export class DrainStore {
  constructor(
    readonly dir: string,
    private readonly proc: ProcReader,
    private readonly self: LockOwner,
  ) {}

  private path(id: string, ext: 'json' | 'lock'): string {
    return join(this.dir, `${id}.${ext}`);
  }

  read(id: string): DrainState | undefined {
    try {
      return JSON.parse(readFileSync(this.path(id, 'json'), 'utf8')) as DrainState;
    } catch {
      return undefined;
    }
  }

  /** Atomic replace (write, then rename), so a reader never sees half a state. */
  write(state: DrainState): void {
    const target = this.path(state.id, 'json');
    const temp = `${target}.${this.self.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  }

  private owner(id: string): LockOwner | undefined {
    try {
      return JSON.parse(readFileSync(this.path(id, 'lock'), 'utf8')) as LockOwner;
    } catch {
      return undefined;
    }
  }

  /** True while the process holding the lock is the one that took it (same PID and start time). */
  isAlive(owner: LockOwner): boolean {
    const stat = this.proc.stat(owner.pid);
    return stat !== undefined && stat.startTime === owner.startTime && stat.state !== 'Z';
  }

  /** Takes the drain, or says who has it, or hands back the finished state. */
  acquire(id: string): Acquired {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = this.read(id);
      if (state?.status === 'finished') return { kind: 'finished', state };
      try {
        const fd = openSync(this.path(id, 'lock'), 'wx', 0o600);
        writeSync(fd, JSON.stringify(this.self));
        closeSync(fd);
        // Re-read: a drain may have finished between the first read and taking the lock.
        const latest = this.read(id);
        if (latest?.status === 'finished') {
          this.release(id);
          return { kind: 'finished', state: latest };
        }
        return latest ? { kind: 'owner', previous: latest } : { kind: 'owner' };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = this.owner(id);
      if (owner && this.isAlive(owner)) return { kind: 'running', owner };
      // The owner died (or the lock is unreadable, half-written by a dying owner): break it and try again.
      // Two successors racing here both unlink, but only one of them can then create the lock.
      try {
        if (!owner || !this.isAlive(owner)) unlinkSync(this.path(id, 'lock'));
      } catch {
        // Someone else removed it first.
      }
    }
    throw new Error(`could not take the lock of drain ${id} in ${this.dir}`);
  }

  release(id: string): void {
    try {
      unlinkSync(this.path(id, 'lock'));
    } catch {
      // Already gone.
    }
  }

  /** The most recently changed drain state in the directory, for `status`. */
  latest(): DrainState | undefined {
    let newest: { id: string; mtimeMs: number } | undefined;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return undefined;
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const { mtimeMs } = statSync(join(this.dir, name));
      if (!newest || mtimeMs > newest.mtimeMs) newest = { id: name.slice(0, -'.json'.length), mtimeMs };
    }
    return newest ? this.read(newest.id) : undefined;
  }
}
