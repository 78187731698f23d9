// Reading /proc. Everything the agent knows about processes comes through ProcReader, so tests can inject a
// reader that simulates PID reuse or processes that vanish between two reads.

import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';

/** What /proc/PID/stat says about a process (fields 3–6, 9 and 22 of proc(5)). */
export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z (zombie), T, X (dead), I … */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  flags: number;
  /** Clock ticks after boot: with the PID, the identity of a process (PIDs are reused, start times are not). */
  startTime: number;
}

export interface ProcReader {
  listPids(): number[];
  stat(pid: number): ProcStat | undefined;
  /** Arguments joined by spaces; '' for kernel threads and zombies. */
  cmdline(pid: number): string | undefined;
  exe(pid: number): string | undefined;
  /** Real uid. */
  uid(pid: number): number | undefined;
}

/** PF_KTHREAD in include/linux/sched.h: the process is a kernel thread. */
const PF_KTHREAD = 0x00200000;

/** The fields of /proc/PID/stat after the command name that ProcStat keeps (0 is field 3 of proc(5)). */
const STAT_FIELDS = { state: 0, ppid: 1, pgid: 2, sid: 3, flags: 6, startTime: 19 } as const;

/**
 * Parses the text of /proc/PID/stat; the command name may itself contain spaces and parentheses. Walks the
 * spaces up to field 22 rather than splitting all 52 fields: a scan parses every process on the host.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const fields: string[] = [];
  let start = close + 2;
  while (fields.length <= STAT_FIELDS.startTime) {
    const end = text.indexOf(' ', start);
    fields.push(text.slice(start, end < 0 ? undefined : end));
    if (end < 0) break;
    start = end + 1;
  }
  const startTime = Number(fields[STAT_FIELDS.startTime]);
  const stat: ProcStat = {
    pid: Number(text.slice(0, open)),
    comm: text.slice(open + 1, close),
    state: fields[STAT_FIELDS.state] || '?',
    ppid: Number(fields[STAT_FIELDS.ppid]),
    pgid: Number(fields[STAT_FIELDS.pgid]),
    sid: Number(fields[STAT_FIELDS.sid]),
    flags: Number(fields[STAT_FIELDS.flags]),
    startTime,
  };
  return Number.isFinite(stat.pid) && Number.isFinite(startTime) ? stat : undefined;
}

/**
 * True for kernel threads: flagged PF_KTHREAD, or kthreadd itself (PID 2 whose parent is 0). Not "PID 2 or a
 * child of PID 2": inside a PID namespace those are ordinary processes.
 */
export function isKernelThread(stat: ProcStat): boolean {
  return (stat.flags & PF_KTHREAD) !== 0 || (stat.pid === 2 && stat.ppid === 0);
}

/** True when the process has exited: gone, a zombie, or dead. */
export function hasExited(stat: ProcStat | undefined): boolean {
  return stat === undefined || stat.state === 'Z' || stat.state === 'X';
}

// One buffer for every read: readFileSync costs an fstat and a second read per file, and a drain reads
// /proc/PID/stat of every process on the host at each rescan (bench/agent-bench.mjs measures it).
/** A page: /proc/PID/stat and most cmdlines fit; the buffer grows for longer ones. */
const INITIAL_READ_BYTES = 4096;
let buffer = Buffer.allocUnsafe(INITIAL_READ_BYTES);

/** A /proc file in one open, read, close (more reads only when it fills the buffer). */
const read = (path: string): string | undefined => {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined; // The process exited between listing and reading: normal.
  }
  try {
    let length = 0;
    for (;;) {
      const count = readSync(fd, buffer, length, buffer.length - length, null);
      length += count;
      if (count === 0 || length < buffer.length) break;
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger);
      buffer = bigger;
    }
    return buffer.toString('utf8', 0, length);
  } catch {
    return undefined; // ESRCH: it exited while we read.
  } finally {
    closeSync(fd);
  }
};

/** The reader of a /proc tree (the real one unless a test gives another root). */
/** A /proc entry whose name starts with a digit is a process. */
const DIGIT_0 = '0'.charCodeAt(0);
const DIGIT_9 = '9'.charCodeAt(0);

/**
 * How far a walk up the parent chain goes at most: no real tree is this deep, and /proc changing under
 * the walk must not loop it for ever.
 */
export const MAX_ANCESTRY_HOPS = 4096;

export function procReader(root = '/proc'): ProcReader {
  // Command lines by PID, kept while the process is the same one: its last stat read gave the same start
  // time and command name (an exec changes the name). A rescan then reads stat alone for the processes it
  // knows; a drain reads each command line once.
  const known = new Map<number, { key: string; cmdline?: string }>();
  return {
    listPids() {
      const pids: number[] = [];
      for (const name of readdirSync(root)) {
        const code = name.charCodeAt(0);
        if (code >= DIGIT_0 && code <= DIGIT_9) pids.push(Number(name));
      }
      return pids;
    },
    stat(pid) {
      const text = read(`${root}/${pid}/stat`);
      const stat = text === undefined ? undefined : parseStat(text);
      if (!stat) return undefined;
      const key = `${stat.startTime}:${stat.comm}`;
      if (known.get(pid)?.key !== key) known.set(pid, { key });
      return stat;
    },
    cmdline(pid) {
      const entry = known.get(pid);
      if (entry?.cmdline !== undefined) return entry.cmdline;
      const text = read(`${root}/${pid}/cmdline`);
      if (text === undefined) return undefined;
      const cmdline = (text.endsWith('\0') ? text.slice(0, -1) : text).replaceAll('\0', ' ');
      // A zombie's is empty: not worth keeping, and a process is read again once it has exited.
      if (entry && cmdline !== '') entry.cmdline = cmdline;
      return cmdline;
    },
    exe(pid) {
      try {
        return readlinkSync(`${root}/${pid}/exe`).replace(/ \(deleted\)$/, '');
      } catch {
        return undefined;
      }
    },
    uid(pid) {
      const match = /^Uid:\s+(\d+)/m.exec(read(`${root}/${pid}/status`) ?? '');
      return match ? Number(match[1]) : undefined;
    },
  };
}

/** All live processes at one moment, with their children. */
export interface Snapshot {
  byPid: Map<number, ProcStat>;
  children: Map<number, number[]>;
}

/** Reads every process once. Processes that vanish while reading are simply absent. */
export function takeSnapshot(proc: ProcReader): Snapshot {
  const byPid = new Map<number, ProcStat>();
  const children = new Map<number, number[]>();
  for (const pid of proc.listPids()) {
    const stat = proc.stat(pid);
    if (!stat || hasExited(stat)) continue;
    byPid.set(pid, stat);
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  return { byPid, children };
}
