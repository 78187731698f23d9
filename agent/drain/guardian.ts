// The guardian: a process beside a drain's agent that undoes the drain's changes (restore.ts) if the agent
// is killed (SSM's cancel and timeout KILL the command's process group). It runs in a session of its own,
// which that kill does not reach, and holds none of the command's output pipes (the SSM Agent waits for
// them). It never undoes a drain that goes on: it waits while the agent's parent (the document's shell,
// which may run the agent again) lives, and restores only holding the drain lock.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ProcReader } from '../host/proc.js';
import { DrainStore } from './drain-state.js';
import { restoreHost } from './restore.js';

/** How long past the drain's deadline a guardian waits at most (the document's watchdog kills by then). */
export const GUARD_AFTER_DEADLINE_MS = 5 * 60_000;
/** How long a guardian waits at most for a drain without a deadline. */
export const GUARD_WITHOUT_DEADLINE_MS = 60 * 60_000;
const POLL_MS = 200;

/** A process by identity (a PID may be reused): `pid:startTime`. */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
}

/** `--pid` of `guard`: the agent and its parent, `pid:startTime,pid:startTime`, as the agent read them. */
export function formatLineage(agent: ProcessIdentity, parent: ProcessIdentity | undefined): string {
  return [agent, parent ?? { pid: 0, startTime: 0 }]
    .map(({ pid, startTime }) => `${pid}:${startTime}`)
    .join(',');
}

export function parseLineage(text: string): [ProcessIdentity, ProcessIdentity] | undefined {
  const match = /^(\d+):(\d+),(\d+):(\d+)$/.exec(text);
  if (!match) return undefined;
  const [, pid, start, ppid, pstart] = match.map(Number) as number[];
  return [
    { pid: pid as number, startTime: start as number },
    { pid: ppid as number, startTime: pstart as number },
  ];
}

export interface GuardOptions {
  id: string;
  stateDir: string;
  /** The agent that runs the drain, and its parent (the document's shell), as the agent saw them. */
  agent: ProcessIdentity;
  parent: ProcessIdentity;
  until: Date;
  proc: ProcReader;
  log: Logger;
}

/**
 * Starts the guardian of drain `id` for this process: `<node> <this bundle> guard …`, detached, its output
 * appended to `guardian-<id>.log` in the state dir. Never throws: a drain without a guardian still drains.
 */
export function startGuardian(options: {
  id: string;
  stateDir: string;
  deadline?: Date;
  log: Logger;
  proc: ProcReader;
}): void {
  const bundle = process.argv[1];
  const self = options.proc.stat(process.pid);
  if (!bundle || !self) return;
  // Read now, by the agent: the guardian may start after the agent is gone (a kill right after the spawn).
  const parent = options.proc.stat(self.ppid);
  const lineage = formatLineage(self, parent);
  const until = new Date(
    options.deadline
      ? Math.max(options.deadline.getTime(), Date.now()) + GUARD_AFTER_DEADLINE_MS
      : Date.now() + GUARD_WITHOUT_DEADLINE_MS,
  );
  let fd: number | undefined;
  try {
    fd = openSync(join(options.stateDir, `guardian-${options.id}.log`), 'a', 0o600);
    const args = ['guard', '--id', options.id, '--state-dir', options.stateDir];
    const child = spawn(
      process.execPath,
      [bundle, ...args, '--pid', lineage, '--until', until.toISOString()],
      {
        detached: true,
        stdio: ['ignore', fd, fd],
      },
    );
    child.on('error', (error) =>
      options.log.log('warn', 'cannot start the guardian', { error: error.message }),
    );
    child.unref();
  } catch (error) {
    options.log.log('warn', 'cannot start the guardian', { error: describeError(error) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Watches the agent; restores the host if it dies before its drain finished and nobody resumes it. */
export async function guard(options: GuardOptions): Promise<'finished' | 'resumed' | 'restored' | 'expired'> {
  const { proc, log, agent, parent } = options;
  const self = proc.stat(process.pid);
  const store = new DrainStore(options.stateDir, proc, { pid: process.pid, startTime: self?.startTime ?? 0 });
  const alive = (who: ProcessIdentity) => who.pid > 0 && store.isAlive(who);
  while (Date.now() < options.until.getTime()) {
    if (store.current(options.id)?.status === 'finished') return 'finished';
    if (!alive(agent) && !alive(parent)) {
      const acquired = store.acquire(options.id);
      if (acquired.kind === 'finished') return 'finished';
      if (acquired.kind === 'running') return 'resumed'; // that agent has a guardian of its own
      try {
        const state = acquired.previous;
        if (state === undefined || state.status !== 'running') return 'finished';
        log.log('warn', 'the drain agent was killed before its drain finished: undoing the drain', {
          agentPid: agent.pid,
        });
        await restoreHost(state, log);
        store.write(state);
        return 'restored';
      } finally {
        store.release();
      }
    }
    await sleep(POLL_MS);
  }
  log.log('info', 'the guardian stops at its bound', { until: options.until.toISOString() });
  return 'expired';
}
