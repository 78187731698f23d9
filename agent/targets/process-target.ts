// A process target: processes found in /proc by command line, executable, user or pidfile, with their
// descendants and what remains in the process groups and sessions they lead. Each process is identified by
// PID and start time, re-checked right before every signal, so a reused PID is never hit.

import { errorCode, errorMessage } from '../../common/errors.js';
import { hasExited, type ProcReader, type ProcStat, type Snapshot, takeSnapshot } from '../host/proc.js';
import { SIGKILL, type Signal } from '../host/signals.js';
import type { ProcessMatch } from '../policy/policy.js';
import type { ProcessReport, TargetKind } from '../report/report.js';
import {
  compileMatch,
  descendantsOf,
  type Matcher,
  matchProcesses,
  membersOf,
  rootsOf,
} from './find-processes.js';
import type { Protection } from './protected-processes.js';
import type { DrainClock, DrainTarget } from './target.js';

/** A process the target has seen, by identity. */
export interface TrackedProcess {
  pid: number;
  startTime: number;
  command: string;
  /** Matched the criteria itself (not only a descendant or a straggler): eligible as a root. */
  matched: boolean;
  signals: [string, number][];
  exitedAfterMs: number | null;
  forced: boolean;
}

/** Sends a signal to a PID; injectable so tests can record instead of kill. Throws like process.kill. */
export type Kill = (pid: number, signal: number) => void;

export interface ProcessTargetOptions {
  proc: ProcReader;
  protection: Protection;
  clock: DrainClock;
  kill?: Kill;
  /** Identities already signalled by an earlier agent of the same drain (resume after a crash). */
  known?: TrackedProcess[];
  /** Identities (`pid:startTime`) that got a graceful signal under an earlier policy: KILL only, now. */
  spared?: ReadonlySet<string>;
}

/** Fast checks look at one live process; a full sweep for exit times and a rescan for new processes are rarer. */
const SWEEP_INTERVAL_MS = 200;
const RESCAN_INTERVAL_MS = 1_000;
const FRESH_SCAN_MS = 20;
const COMMAND_CHARS = 80;

/** How a process is named in state and in `spared`: a PID alone may be reused. */
export const identity = (pid: number, startTime: number) => `${pid}:${startTime}`;

export class ProcessTarget implements DrainTarget {
  // A wait notices the last exit within this: one /proc/PID/stat read per tick (bench/agent-bench.mjs).
  readonly pollIntervalMs = 4;
  error?: string;
  private readonly tracked = new Map<string, TrackedProcess>();
  private live: TrackedProcess[] = [];
  private readonly groups = new Set<number>();
  private readonly sessions = new Set<number>();
  private matcher?: Matcher;
  /** Match verdicts by identity: a process's command line, exe and uid are read once. */
  private readonly verdicts = new Map<string, boolean>();
  private lastSweepMs = 0;
  private lastRescanMs = 0;
  private snapshot?: Snapshot;
  private readonly kill: Kill;

  constructor(
    readonly name: string,
    private readonly match: ProcessMatch,
    private readonly scope: 'roots' | 'all',
    private readonly options: ProcessTargetOptions,
    readonly kind: TargetKind = 'process',
  ) {
    this.kill = options.kill ?? ((pid, signal) => process.kill(pid, signal));
    for (const known of options.known ?? [])
      this.tracked.set(identity(known.pid, known.startTime), { ...known });
  }

  async discover(): Promise<void> {
    try {
      this.matcher = compileMatch(this.match);
    } catch (error) {
      this.error = errorMessage(error);
      return;
    }
    this.rescan();
  }

  /** Re-reads /proc: marks exits, adds new matches, new descendants and stragglers. */
  rescan(): Snapshot | undefined {
    if (!this.matcher) return undefined;
    const { proc, protection, clock } = this.options;
    const now = clock();
    this.lastRescanMs = now;
    this.lastSweepMs = now;
    const snapshot = takeSnapshot(proc);
    this.snapshot = snapshot;
    for (const tracked of this.tracked.values()) {
      if (tracked.exitedAfterMs !== null) continue;
      const stat = snapshot.byPid.get(tracked.pid);
      if (!stat || stat.startTime !== tracked.startTime) tracked.exitedAfterMs = now;
    }
    const matched = matchProcesses(snapshot, this.matcher, proc, protection, this.verdicts);
    for (const stat of matched) this.add(stat, { matched: true, snapshot, proc });
    const alive = [...this.tracked.values()].filter((tracked) => tracked.exitedAfterMs === null);
    for (const stat of descendantsOf(
      snapshot,
      alive.map((tracked) => tracked.pid),
    ))
      this.add(stat, { matched: false, snapshot, proc });
    // Groups and sessions led by a tracked process hold its double-forked stragglers. One counts only while a
    // process we already know (by identity) is still in it: the kernel frees a group's number for reuse only
    // once the group is empty, so an anchored group cannot belong to someone else.
    const anchoredGroups = new Set<number>();
    const anchoredSessions = new Set<number>();
    for (const tracked of this.tracked.values()) {
      const stat = tracked.exitedAfterMs === null ? snapshot.byPid.get(tracked.pid) : undefined;
      if (!stat) continue;
      if (stat.pgid === stat.pid) this.groups.add(stat.pid);
      if (stat.sid === stat.pid) this.sessions.add(stat.pid);
      anchoredGroups.add(stat.pgid);
      anchoredSessions.add(stat.sid);
    }
    for (const group of this.groups) if (!anchoredGroups.has(group)) this.groups.delete(group);
    for (const session of this.sessions) if (!anchoredSessions.has(session)) this.sessions.delete(session);
    for (const stat of membersOf(snapshot, this.groups, this.sessions))
      this.add(stat, { matched: false, snapshot, proc });
    this.live = [...this.tracked.values()].filter((tracked) => tracked.exitedAfterMs === null);
    return snapshot;
  }

  private add(
    stat: ProcStat,
    { matched, snapshot, proc }: { matched: boolean; snapshot: Snapshot; proc: ProcReader },
  ): void {
    if (this.options.protection.covers(stat, snapshot)) return;
    const key = identity(stat.pid, stat.startTime);
    const existing = this.tracked.get(key);
    if (existing) {
      existing.matched ||= matched;
      return;
    }
    const command = (proc.cmdline(stat.pid) || `[${stat.comm}]`).slice(0, COMMAND_CHARS);
    this.tracked.set(key, {
      pid: stat.pid,
      startTime: stat.startTime,
      command,
      matched,
      signals: [],
      exitedAfterMs: null,
      forced: false,
    });
  }

  private exited(tracked: TrackedProcess): boolean {
    const stat = this.options.proc.stat(tracked.pid);
    return hasExited(stat) || stat?.startTime !== tracked.startTime;
  }

  async isRunning(): Promise<boolean> {
    const now = this.options.clock();
    if (now - this.lastRescanMs >= RESCAN_INTERVAL_MS) {
      this.rescan();
      return this.live.length > 0;
    }
    if (now - this.lastSweepMs >= SWEEP_INTERVAL_MS) {
      this.lastSweepMs = now;
      this.live = this.live.filter((tracked) => {
        if (!this.exited(tracked)) return true;
        tracked.exitedAfterMs = now;
        return false;
      });
    } else {
      // Between sweeps, one read answers "is anything still running?" until that process exits.
      while (this.live.length > 0) {
        const first = this.live[0] as TrackedProcess;
        if (!this.exited(first)) return true;
        first.exitedAfterMs = now;
        this.live.shift();
      }
    }
    if (this.live.length > 0) return true;
    // Everything known has exited: look once more for new processes (a respawned worker) before saying so.
    if (!this.newProcesses()) return false;
    this.rescan();
    return this.live.length > 0;
  }

  /**
   * Whether /proc lists a PID the last scan did not see. With every tracked process gone, no group or session
   * is anchored and no descendant is left to find: only a new process can be new work, so a full rescan is
   * owed only then (a PID reused within that interval, after the kernel wrapped its PID range, is missed).
   */
  private newProcesses(): boolean {
    const seen = this.snapshot?.byPid;
    return seen === undefined || this.options.proc.listPids().some((pid) => !seen.has(pid));
  }

  async signal(signal: Signal): Promise<void> {
    if (!this.snapshot) return;
    const now = this.options.clock();
    const sent = new Set<TrackedProcess>();
    // The processes of the last scan get the signal at once; a scan after that (unless that one is from this
    // very moment) finds those started since, and they get it too. Identities are re-checked before each kill.
    this.send(this.recipients(this.snapshot, signal), signal, now, sent);
    if (now - this.lastRescanMs > FRESH_SCAN_MS) {
      const snapshot = this.rescan();
      if (snapshot)
        this.send(
          this.recipients(snapshot, signal).filter((tracked) => !sent.has(tracked)),
          signal,
          now,
          sent,
        );
    }
    this.live = this.live.filter((tracked) => tracked.exitedAfterMs === null);
  }

  /** Who gets `signal` by the scope, among the live processes of `snapshot`. */
  private recipients(snapshot: Snapshot, signal: Signal): TrackedProcess[] {
    if (this.scope === 'all' || signal.number === SIGKILL.number) return this.live;
    const lookup = (pid: number) => snapshot.byPid.get(pid);
    const matched = this.live.flatMap((tracked) => (tracked.matched ? (lookup(tracked.pid) ?? []) : []));
    return rootsOf(matched, lookup).map(
      (stat) => this.tracked.get(identity(stat.pid, stat.startTime)) as TrackedProcess,
    );
  }

  private send(recipients: TrackedProcess[], signal: Signal, now: number, sent: Set<TrackedProcess>): void {
    const graceful = signal.number !== SIGKILL.number;
    for (const tracked of recipients) {
      if (graceful && this.options.spared?.has(identity(tracked.pid, tracked.startTime))) continue;
      // Re-check the identity right before the signal: the PID may belong to another process by now.
      if (this.exited(tracked)) {
        tracked.exitedAfterMs ??= now;
        continue;
      }
      try {
        this.kill(tracked.pid, signal.number);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ESRCH') {
          tracked.exitedAfterMs ??= now;
          continue;
        }
        this.error = `cannot signal PID ${tracked.pid}: ${code ?? errorMessage(error)}`;
        continue;
      }
      sent.add(tracked);
      tracked.signals.push([signal.name, now]);
      if (!graceful) tracked.forced = true;
    }
  }

  /** Every process seen, for the report and the state file. */
  all(): TrackedProcess[] {
    return [...this.tracked.values()];
  }

  processes(): ProcessReport[] {
    return this.all().map(({ pid, command, signals, exitedAfterMs, forced }) => ({
      pid,
      command,
      signals,
      exitedAfterMs,
      forced,
    }));
  }
}
