// The processes the agent never signals, whatever the policy matches: PID 1, itself, its ancestors (the SSM
// Agent and the shell it runs) and its own descendants (prepare and stop commands), and kernel threads.

import { isKernelThread, type ProcReader, type ProcStat, type Snapshot } from './proc.js';

export interface Protection {
  /** PIDs never to signal: PID 1, the agent and its ancestors. */
  pids: Set<number>;
  /** True when this process must never be signalled. */
  covers(stat: ProcStat, snapshot?: Snapshot): boolean;
}

/** Computes the protected set for the agent running as `selfPid`. */
export function protectProcesses(proc: ProcReader, selfPid: number = process.pid): Protection {
  const pids = new Set<number>([1, selfPid]);
  // Walk up to PID 1 (or to 0, the parent of PID 1 in a PID namespace); bounded in case /proc lies.
  let pid = selfPid;
  for (let hops = 0; hops < 4096; hops++) {
    const stat = proc.stat(pid);
    if (!stat || stat.ppid <= 0 || pids.has(stat.ppid)) {
      if (stat && stat.ppid > 0) pids.add(stat.ppid);
      break;
    }
    pids.add(stat.ppid);
    pid = stat.ppid;
  }
  const isOwnDescendant = (stat: ProcStat, snapshot?: Snapshot): boolean => {
    let current: ProcStat | undefined = stat;
    for (let hops = 0; current && hops < 4096; hops++) {
      if (current.ppid === selfPid) return true;
      if (current.ppid <= 1) return false;
      current = snapshot?.byPid.get(current.ppid) ?? proc.stat(current.ppid);
    }
    return false;
  };
  return {
    pids,
    covers: (stat, snapshot) => pids.has(stat.pid) || isKernelThread(stat) || isOwnDescendant(stat, snapshot),
  };
}
