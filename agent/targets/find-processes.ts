// Which processes a process target covers: those matching its criteria, their descendants, and what is left
// in the process groups and sessions they lead (a double-forked child is no longer a descendant, but it
// keeps its group and session: Faust's warning that KILL leaves such children behind).

import { readFileSync } from 'node:fs';
import { MAX_ANCESTRY_HOPS, type ProcReader, type ProcStat, type Snapshot } from '../host/proc.js';
import type { ProcessMatch } from '../policy/policy.js';
import type { Protection } from './protected-processes.js';

/** A compiled ProcessMatch: every given criterion must hold. */
export interface Matcher {
  cmdline?: RegExp;
  exe?: string;
  uid?: number;
  pidfile?: string;
}

/** Resolves user names through /etc/passwd (no dependency, no NSS: names from LDAP need a numeric uid). */
export function lookupUid(name: string, passwd = '/etc/passwd'): number | undefined {
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [user, , uid] = line.split(':');
    if (user === name && uid !== undefined && /^\d+$/.test(uid)) return Number(uid);
  }
  return undefined;
}

export class UnknownUserError extends Error {}

export function compileMatch(match: ProcessMatch): Matcher {
  const matcher: Matcher = {};
  if (match.cmdline !== undefined) matcher.cmdline = new RegExp(match.cmdline);
  if (match.exe !== undefined) matcher.exe = match.exe;
  if (match.pidfile !== undefined) matcher.pidfile = match.pidfile;
  if (typeof match.user === 'number') matcher.uid = match.user;
  else if (match.user !== undefined) {
    const uid = lookupUid(match.user);
    if (uid === undefined)
      throw new UnknownUserError(`user "${match.user}" is not in /etc/passwd; give a numeric uid`);
    matcher.uid = uid;
  }
  return matcher;
}

/** The PID a pidfile names, or undefined when the file is missing or holds no PID. */
export function readPidfile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The processes of the snapshot that match every criterion (protected ones excluded). `seen` remembers the
 * verdict per identity (`pid:startTime`), so a rescan reads the command line of new processes only.
 */
export function matchProcesses(
  snapshot: Snapshot,
  matcher: Matcher,
  proc: ProcReader,
  protection: Protection,
  seen?: Map<string, boolean>,
): ProcStat[] {
  let candidates: Iterable<ProcStat> = snapshot.byPid.values();
  if (matcher.pidfile !== undefined) {
    const pid = readPidfile(matcher.pidfile);
    const stat = pid === undefined ? undefined : snapshot.byPid.get(pid);
    candidates = stat ? [stat] : [];
  }
  const matched: ProcStat[] = [];
  const verdict = (stat: ProcStat): boolean => {
    if (matcher.uid !== undefined && proc.uid(stat.pid) !== matcher.uid) return false;
    if (matcher.exe !== undefined && proc.exe(stat.pid) !== matcher.exe) return false;
    if (matcher.cmdline !== undefined) {
      const cmdline = proc.cmdline(stat.pid);
      if (!cmdline || !matcher.cmdline.test(cmdline)) return false;
    }
    return true;
  };
  for (const stat of candidates) {
    if (protection.covers(stat, snapshot)) continue;
    const key = `${stat.pid}:${stat.startTime}`;
    let hit = seen?.get(key);
    if (hit === undefined) {
      hit = verdict(stat);
      seen?.set(key, hit);
    }
    if (hit) matched.push(stat);
  }
  return matched;
}

/** Every descendant of the given PIDs in the snapshot (not including them). */
export function descendantsOf(snapshot: Snapshot, pids: Iterable<number>): ProcStat[] {
  const found: ProcStat[] = [];
  const seen = new Set<number>(pids);
  const queue = [...seen];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const child of snapshot.children.get(pid) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      queue.push(child);
      const stat = snapshot.byPid.get(child);
      if (stat) found.push(stat);
    }
  }
  return found;
}

/** Processes of the snapshot in one of the given process groups or sessions. */
export function membersOf(
  snapshot: Snapshot,
  groups: ReadonlySet<number>,
  sessions: ReadonlySet<number>,
): ProcStat[] {
  if (groups.size === 0 && sessions.size === 0) return [];
  const found: ProcStat[] = [];
  for (const stat of snapshot.byPid.values()) {
    if (groups.has(stat.pgid) || sessions.has(stat.sid)) found.push(stat);
  }
  return found;
}

/** The matched processes that no other matched process descends from. */
export function rootsOf(
  matched: readonly ProcStat[],
  lookup: (pid: number) => ProcStat | undefined,
): ProcStat[] {
  const pids = new Set(matched.map((stat) => stat.pid));
  return matched.filter((stat) => {
    let parent = lookup(stat.ppid);
    for (let hops = 0; parent && hops < MAX_ANCESTRY_HOPS; hops++) {
      if (pids.has(parent.pid)) return false;
      parent = parent.ppid > 0 ? lookup(parent.ppid) : undefined;
    }
    return true;
  });
}
