// The processes the agent never signals, whatever the policy matches: PID 1, itself, its ancestors (the SSM
// Agent and the shell it runs) and its own descendants (prepare and stop commands), kernel threads, and any
// other fleet-drain agent on the host with its ancestors (a second drain that is joining this one: its
// command line names node and the agent, which a policy for node workers may well match).

import {
  isKernelThread,
  MAX_ANCESTRY_HOPS,
  type ProcReader,
  type ProcStat,
  type Snapshot,
} from '../host/proc.js';
import { DOCUMENT_STEP } from './document-steps.js';

export interface Protection {
  /** PIDs never to signal: PID 1, the agent and its ancestors. */
  pids: Set<number>;
  /** True when this process must never be signalled. */
  covers(stat: ProcStat, snapshot?: Snapshot): boolean;
}

/** The agent's file name (dist/fleet-drain-agent.js, or the document's fleet-drain-agent-<hash>.js). */
const AGENT_SCRIPT = /(^|\/)fleet-drain-agent[\w.-]*\.js$/;
/**
 * True when the command line runs a fleet-drain agent, `node …/fleet-drain-agent….js …`, or is one of the
 * document's own node steps, `node -e <code> … <that file or the marker>`: a second invocation that starts
 * while a drain runs must get to join it, not be signalled by a policy for node workers.
 */
export function isDrainAgent(cmdline: string): boolean {
  const words = cmdline.split(' ');
  const [program, script] = words;
  if (program === undefined || !/(^|\/)node[\w.-]*$/.test(program) || script === undefined) return false;
  return AGENT_SCRIPT.test(script) || (script === '-e' && DOCUMENT_STEP.test(words[words.length - 1] ?? ''));
}

/** PIDs of `pid` and its ancestors up to PID 1; bounded in case /proc lies. */
function lineage(pid: number, lookup: (pid: number) => ProcStat | undefined): number[] {
  const chain = [pid];
  let current = lookup(pid);
  for (let hops = 0; current && current.ppid > 0 && hops < MAX_ANCESTRY_HOPS; hops++) {
    chain.push(current.ppid);
    current = lookup(current.ppid);
  }
  return chain;
}

/** Computes the protected set for the agent running as `selfPid`. */
export function protectProcesses(proc: ProcReader, selfPid: number = process.pid): Protection {
  const pids = new Set<number>([1, ...lineage(selfPid, (pid) => proc.stat(pid))]);
  // Other agents and their ancestors, per snapshot: only processes whose name starts with "node" are read.
  const others = new WeakMap<Snapshot, Set<number>>();
  const otherAgents = (snapshot: Snapshot): Set<number> => {
    let found = others.get(snapshot);
    if (!found) {
      found = new Set();
      for (const stat of snapshot.byPid.values()) {
        if (!stat.comm.startsWith('node') || stat.pid === selfPid) continue;
        if (!isDrainAgent(proc.cmdline(stat.pid) ?? '')) continue;
        for (const pid of lineage(stat.pid, (pid) => snapshot.byPid.get(pid))) found.add(pid);
      }
      others.set(snapshot, found);
    }
    return found;
  };
  const isOwnDescendant = (stat: ProcStat, snapshot?: Snapshot): boolean => {
    let current: ProcStat | undefined = stat;
    for (let hops = 0; current && hops < MAX_ANCESTRY_HOPS; hops++) {
      if (current.ppid === selfPid) return true;
      if (current.ppid <= 1) return false;
      current = snapshot?.byPid.get(current.ppid) ?? proc.stat(current.ppid);
    }
    return false;
  };
  return {
    pids,
    covers: (stat, snapshot) =>
      pids.has(stat.pid) ||
      isKernelThread(stat) ||
      isOwnDescendant(stat, snapshot) ||
      (snapshot !== undefined && otherAgents(snapshot).has(stat.pid)),
  };
}
