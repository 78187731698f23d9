// Idempotence on the host: one drain lock (who runs a drain now) and a state file per drain id (how far it
// got, then its report). A drain delivered twice joins the running one or replays its report, and a drain
// whose agent died resumes where it stood: no worker gets a second graceful signal ("abort now" to many).

import {
  closeSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../../common/errors.js';
import type { ProcReader } from '../host/proc.js';
import { makeDirs } from '../host/safe-fs.js';
import type { DrainReport, ProcessReport, StepReport } from '../report/report.js';

export const DEFAULT_STATE_DIR = '/run/fleet-drainer';
/** The most files `status` looks at in the state dir. */
const MAX_STATE_FILES = 10_000;
/**
 * How often `acquire` tries for the lock while others take it, break it or give it up: with LOCK_RETRY_MS
 * between tries, a second at least; a lock still contested after that is a bug, not a race.
 */
const MAX_LOCK_ATTEMPTS = 200;
const LOCK_RETRY_MS = 5;
/** How often `offerDeadline` re-writes while concurrent joiners overwrite it with later deadlines. */
const MAX_DEADLINE_WRITES = 20;

/** An earlier deadline that a joining drain handed the running one, and the joiner's id. */
export interface HandedDeadline {
  deadline: Date;
  by: string;
}

/** Progress of one target, written before every step so a successor never repeats a signal. */
export interface TargetProgress {
  step: number;
  stepStartedMs: number;
  processes: (ProcessReport & { startTime?: number; matched?: boolean })[];
  /** The target's stop command ran (or was about to): for its processes it counts as a graceful signal. */
  stopped?: boolean;
  /**
   * A graceful (non-KILL) signal was about to be sent to the target: saved before the signal and never
   * cleared, because an agent that dies between the two saves around a signal leaves no record of it.
   */
  graceful?: boolean;
}

/** A prepare or finally step that has run: its content (canonical JSON) and what it reported. */
export interface StepDone {
  key: string;
  /** Missing for a prepare step an earlier agent version ran: it recorded a count, not a report. */
  report?: StepReport;
}

export interface DrainState {
  id: string;
  status: 'running' | 'finished';
  startedAt: string;
  deadline?: string;
  /**
   * policyFingerprint of the policy that `targets` (their schedules' step indices) were written under.
   * Missing in a state written by an earlier agent version: that agent assumed the policy never changed.
   */
  policy?: string;
  /**
   * How many prepare steps, in order, have run. What an earlier agent version read and wrote (still written,
   * so that an older agent can take a drain over); read only when `stepsDone` is missing.
   */
  prepareDone?: number;
  /**
   * Prepare and finally steps already run, by content: a resumed drain skips them (a finally step such as a
   * deregistration or a log upload must not run twice), even when the policy changed meanwhile.
   */
  stepsDone?: { prepare: StepDone[]; finally: StepDone[] };
  phase: 'prepare' | 'targets' | 'finally';
  targets: Record<string, TargetProgress>;
  /**
   * Processes (`pid:startTime`), units and containers that got a graceful signal under an earlier policy of
   * this drain: they get none again, only the final KILL (a second graceful signal is "abort now" to many).
   */
  spared?: string[];
  /**
   * Docker containers' restart policies before the drain turned them off, by target name, then container id:
   * put back when the targets are done, by whichever agent finishes the drain (the one that changed them may
   * have died). A container still running then keeps `no`, and its entry, here.
   */
  restartPolicies?: Record<string, Record<string, string>>;
  /**
   * systemd drop-ins (paths) the drain wrote, recorded before each is written. They vanish at the next boot,
   * but a warm-pool instance put back in service while running is not booted: restore.ts removes them.
   */
  dropIns?: string[];
  /** Files that touch steps created (they did not exist before), with the step's key in `stepsDone`. */
  markers?: { path: string; key: string; phase: 'prepare' | 'finally' }[];
  /** When a guardian (or `restore`) undid the drain's changes after its agent was killed (restore.ts). */
  restored?: { at: string; markers: number; dropIns: number; containers: number };
  report?: DrainReport;
}

export interface LockOwner {
  pid: number;
  startTime: number;
  /** The drain id the holder runs. */
  id?: string;
}

export type Acquired =
  | { kind: 'owner'; previous?: DrainState }
  | { kind: 'running'; owner: LockOwner }
  | { kind: 'finished'; state: DrainState };

/**
 * A drain that is over for good: finished, but not interrupted. An interrupted drain (TERM/INT: a cancel, an
 * operator) stopped with workers perhaps still running: the same id run again resumes it where it stood.
 */
export const isDone = (state: DrainState | undefined): state is DrainState =>
  state?.status === 'finished' && state.report?.outcome !== 'interrupted';

export class DrainStore {
  constructor(
    readonly dir: string,
    private readonly proc: ProcReader,
    private readonly self: LockOwner,
  ) {}

  private path(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  read(id: string): DrainState | undefined {
    try {
      return JSON.parse(readFileSync(this.path(id), 'utf8')) as DrainState;
    } catch {
      return undefined;
    }
  }

  write(state: DrainState): void {
    this.replaceJson(this.path(state.id), state);
  }

  /** Atomic replace (write, then rename), so a reader never sees half a file. */
  private replaceJson(target: string, value: unknown): void {
    const temp = `${target}.${this.self.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(value));
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  }

  private deadlinePath(id: string): string {
    return join(this.dir, `${id}.deadline`);
  }

  /** The earliest deadline joining drains handed drain `id` (its `.deadline` file), if any. */
  readDeadline(id: string): HandedDeadline | undefined {
    try {
      const text = readFileSync(this.deadlinePath(id), 'utf8');
      const { deadline, by } = JSON.parse(text) as Record<string, unknown>;
      const time = typeof deadline === 'string' ? Date.parse(deadline) : Number.NaN;
      if (Number.isNaN(time)) return undefined;
      return { deadline: new Date(time), by: typeof by === 'string' ? by : '' };
    } catch {
      return undefined;
    }
  }

  /**
   * Hands drain `id` the deadline `deadline` unless it holds an earlier one: the file only ever moves
   * earlier. A concurrent joiner may overwrite it with a later one, so the write is checked and redone.
   * True when the file holds this deadline now.
   */
  offerDeadline(id: string, deadline: Date, by: string): boolean {
    const path = this.deadlinePath(id);
    for (let attempt = 0; attempt < MAX_DEADLINE_WRITES; attempt++) {
      const current = this.readDeadline(id);
      if (current && current.deadline.getTime() < deadline.getTime()) return false;
      if (current && current.deadline.getTime() === deadline.getTime()) return true;
      this.replaceJson(path, { deadline: deadline.toISOString(), by });
    }
    return false;
  }

  private get lockPath(): string {
    return join(this.dir, 'drain.lock');
  }

  private readOwner(path: string): LockOwner | undefined {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    } catch {
      return undefined;
    }
  }

  /** Creates `path` holding this process's identity, atomically and whole (write a temp file, then link). */
  private tryCreate(path: string, id?: string): boolean {
    const temp = `${path}.${this.self.pid}.${Math.random().toString(36).slice(2)}`;
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify({ ...this.self, ...(id ? { id } : {}) }));
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, path);
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      return false;
    } finally {
      unlinkSync(temp);
    }
  }

  /** True while the process holding the lock is the one that took it (same PID and start time). */
  isAlive(owner: LockOwner): boolean {
    const stat = this.proc.stat(owner.pid);
    return stat !== undefined && stat.startTime === owner.startTime && stat.state !== 'Z';
  }

  /** True while the drain lock is held by `owner` (the same process, by PID and start time). */
  holds(owner: LockOwner): boolean {
    const current = this.readOwner(this.lockPath);
    return current?.pid === owner.pid && current.startTime === owner.startTime;
  }

  /**
   * Takes the host's drain lock for `id`, or says who holds it (a drain of this or another id), or hands back
   * the finished state. One drain runs on a host at a time, whatever its id: two drains would signal the
   * same workers twice. When the holder died, its progress is handed over so its schedule goes on.
   */
  acquire(id: string): Acquired {
    makeDirs(this.dir, 0o700);
    let orphan: DrainState | undefined;
    for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
      const state = this.read(id);
      if (isDone(state)) return { kind: 'finished', state };
      if (this.tryCreate(this.lockPath, id)) {
        // Re-read: a drain may have finished between the first read and taking the lock.
        const latest = this.read(id);
        if (isDone(latest)) {
          this.release();
          return { kind: 'finished', state: latest };
        }
        const previous = latest ?? (orphan ? { ...orphan, id } : undefined);
        return previous ? { kind: 'owner', previous } : { kind: 'owner' };
      }
      const owner = this.readOwner(this.lockPath);
      if (owner && this.isAlive(owner)) return { kind: 'running', owner };
      // The holder died. Breaking its lock is itself guarded, so that two successors cannot both break it,
      // the second one removing the lock the first one has just taken.
      const takeover = `${this.lockPath}.takeover`;
      if (this.tryCreate(takeover)) {
        try {
          const stale = this.readOwner(this.lockPath);
          if (!stale || !this.isAlive(stale)) {
            const progress = stale?.id && stale.id !== id ? this.read(stale.id) : undefined;
            if (progress?.status === 'running') orphan = progress;
            rmSync(this.lockPath, { force: true });
          }
        } finally {
          rmSync(takeover, { force: true });
        }
      } else {
        const breaker = this.readOwner(takeover);
        if (!breaker || !this.isAlive(breaker)) rmSync(takeover, { force: true });
        // A synchronous sleep: acquire must not yield (its caller holds no lock yet).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOCK_RETRY_MS);
      }
    }
    throw new Error(`could not take the drain lock ${this.lockPath}`);
  }

  /** The live process that holds the drain lock, if any (a lock left by a dead agent counts as none). */
  lockHolder(): LockOwner | undefined {
    const owner = this.readOwner(this.lockPath);
    return owner && this.isAlive(owner) ? owner : undefined;
  }

  release(): void {
    rmSync(this.lockPath, { force: true });
  }

  /** The most recently changed drain state in the directory, for `status`. */
  latest(): DrainState | undefined {
    let newest: { id: string; mtimeMs: number } | undefined;
    // A folder that is missing reads as empty; one that is a file or unreadable throws (the caller says so).
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    // Bounded: a state dir that filled up with files must not stall `status`.
    for (const name of names.slice(0, MAX_STATE_FILES)) {
      if (!name.endsWith('.json')) continue;
      let mtimeMs: number;
      try {
        mtimeMs = statSync(join(this.dir, name)).mtimeMs;
      } catch {
        continue; // removed meanwhile
      }
      if (!newest || mtimeMs > newest.mtimeMs) newest = { id: name.slice(0, -'.json'.length), mtimeMs };
    }
    return newest ? this.read(newest.id) : undefined;
  }
}
