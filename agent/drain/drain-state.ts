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
import { pauseAt } from '../host/test-pauses.js';
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
/** How many guards of guards `claim` goes through at most: each level needs an agent to die inside one. */
const MAX_GUARD_DEPTH = 4;
/** How many handovers `current` follows at most (each one an agent that died). */
const MAX_HANDOVERS = 16;
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
  /** This drain's agent died and another drain, of this id, took its progress over: follow it there. */
  handedTo?: string;
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
const sameOwner = (a: LockOwner | undefined, b: LockOwner): boolean =>
  a !== undefined && a.pid === b.pid && a.startTime === b.startTime;

/** A guard's name for the file of holder `who`: `break-PID-START`. */
const guardSuffix = (who: LockOwner): string => `break-${who.pid}-${who.startTime}`;

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
   * same workers twice. When the holder died, its lock is taken over whole (never removed, so no other
   * agent can slip in between) and its progress handed over, so its schedule goes on.
   */
  acquire(id: string): Acquired {
    makeDirs(this.dir, 0o700);
    for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
      const state = this.current(id);
      if (isDone(state)) return { kind: 'finished', state };
      if (this.tryCreate(this.lockPath, id)) {
        // Re-read: a drain may have finished between the first read and taking the lock.
        const latest = this.current(id);
        if (isDone(latest)) {
          this.release();
          return { kind: 'finished', state: latest };
        }
        return this.owned(id, latest);
      }
      const owner = this.readOwner(this.lockPath);
      if (owner && this.isAlive(owner)) return { kind: 'running', owner };
      const taken = owner ? this.takeOver(owner, id) : undefined;
      if (taken) return taken;
      // A synchronous sleep: acquire must not yield (its caller holds no lock yet).
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOCK_RETRY_MS);
    }
    throw new Error(`could not take the drain lock ${this.lockPath}`);
  }

  /**
   * Replaces the lock of `stale`, a holder that died, with ours, if it is still its lock. Only the agent that
   * creates the guard named for that holder may: of successors racing for one dead lock, one replaces it and
   * the others find it held by a live agent. The orphan's progress (its state, if it ran another id) is ours.
   */
  private takeOver(stale: LockOwner, id: string): Acquired | undefined {
    const guard = `${this.lockPath}.${guardSuffix(stale)}`;
    if (!this.claim(guard)) return undefined;
    try {
      pauseAt('lock-guarded');
      if (!sameOwner(this.readOwner(this.lockPath), stale)) return undefined;
      pauseAt('lock-judged');
      const own = this.current(id);
      const orphan = stale.id && stale.id !== id ? this.current(stale.id) : undefined;
      const previous = own?.status === 'running' ? own : orphan?.status === 'running' ? orphan : own;
      this.replaceJson(this.lockPath, { ...this.self, id });
      pauseAt('lock-broken');
      return this.owned(id, previous);
    } finally {
      rmSync(guard, { force: true });
    }
  }

  /**
   * Ours now, with the progress to go on from. A state of another id (an orphan, or the drain its id was
   * handed to) is copied under ours first, then marked handed over to us, so that its own id run again
   * follows to this drain instead of resuming it (and running its finally steps a second time).
   */
  private owned(id: string, previous: DrainState | undefined): Acquired {
    if (!previous) return { kind: 'owner' };
    if (previous.id === id) return { kind: 'owner', previous };
    const adopted: DrainState = { ...previous, id };
    delete adopted.handedTo;
    this.write(adopted);
    this.write({ ...previous, handedTo: id });
    return { kind: 'owner', previous: adopted };
  }

  /**
   * Creates `path` (a guard), or, when a holder that died left it, removes it for the next try. Removing a
   * stale file is itself guarded by a file named for its holder, so that an agent that judged it stale can
   * never remove one that another agent has created since (depth-bounded: each level needs a death).
   */
  private claim(path: string, depth = 0): boolean {
    if (this.tryCreate(path)) return true;
    pauseAt('takeover-busy');
    const holder = this.readOwner(path);
    if (!holder || this.isAlive(holder) || depth >= MAX_GUARD_DEPTH) return false;
    pauseAt('takeover-judged');
    const guard = `${path}.${guardSuffix(holder)}`;
    if (!this.claim(guard, depth + 1)) return false;
    try {
      if (sameOwner(this.readOwner(path), holder)) rmSync(path, { force: true });
    } finally {
      rmSync(guard, { force: true });
    }
    return false;
  }

  /** The state of drain `id`, or of the drain it was handed to (following at most MAX_HANDOVERS). */
  current(id: string): DrainState | undefined {
    let state = this.read(id);
    for (let hops = 0; state?.handedTo !== undefined && hops < MAX_HANDOVERS; hops++) {
      const next = this.read(state.handedTo);
      if (!next) break;
      state = next;
    }
    return state;
  }

  /** The live process that holds the drain lock, if any (a lock left by a dead agent counts as none). */
  lockHolder(): LockOwner | undefined {
    const owner = this.readOwner(this.lockPath);
    return owner && this.isAlive(owner) ? owner : undefined;
  }

  /** Lets the lock go, if it is ours (a live holder's lock is never taken over, so the check is enough). */
  release(): void {
    if (sameOwner(this.readOwner(this.lockPath), this.self)) rmSync(this.lockPath, { force: true });
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
    return newest ? this.current(newest.id) : undefined;
  }
}
