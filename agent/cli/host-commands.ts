// The commands that look after a drain on this host rather than run one: `status`, `restore` and the
// internal `guard` (the guardian a drain starts, guardian.ts).

import { existsSync } from 'node:fs';
import { errorCode, errorMessage } from '../../common/errors.js';
import { type DrainState, DrainStore } from '../drain/drain-state.js';
import { guard, parseLineage } from '../drain/guardian.js';
import { restoreHost } from '../drain/restore.js';
import { procReader } from '../host/proc.js';
import { EXIT } from '../report/exit-codes.js';
import { type OptionValues, QUOTE_MAX_CHARS } from './command-line.js';
import type { Io } from './io.js';
import { agentLogger } from './log-context.js';
import { UsageError } from './usage.js';

export interface HostCommand {
  values: OptionValues;
  stateDir: string;
  io: Io;
}

/**
 * `status`: the current or last drain as JSON. A drain whose state says `running` but that no live agent
 * holds shows as `abandoned`, with what to do; a missing state folder as `none`, saying so. A state folder
 * that is a file or cannot be read is a UsageError (exit 78).
 */
export function status({ stateDir, io }: HostCommand): number {
  const store = new DrainStore(stateDir, procReader(), { pid: process.pid, startTime: 0 });
  let state: DrainState | undefined;
  try {
    if (!existsSync(stateDir)) {
      const reason = 'the state folder does not exist: no drain has used it';
      return print(io, { status: 'none', stateDir, reason });
    }
    state = store.latest();
  } catch (error) {
    const code = errorCode(error) ?? errorMessage(error);
    const why = code === 'ENOTDIR' ? 'is not a folder' : 'cannot be read';
    throw new UsageError(
      `--state-dir ${stateDir.slice(0, QUOTE_MAX_CHARS)} ${why} (${code}); give the folder drains use`,
      EXIT.config,
    );
  }
  if (!state) return print(io, { status: 'none', stateDir, reason: 'no drain in the state folder' });
  if (state.status === 'running' && store.lockHolder() === undefined) {
    const hint = state.restored
      ? `its agent died and its changes were undone at ${state.restored.at}; drain --id ${state.id} goes on where it stood`
      : `its agent died; drain --id ${state.id} resumes it, restore --id ${state.id} undoes its changes`;
    return print(io, { ...state, status: 'abandoned', hint });
  }
  return print(io, state);
}

const print = (io: Io, value: unknown): number => {
  io.stdout(`${JSON.stringify(value)}\n`);
  return 0;
};

/** `restore`: undoes drain `id` if no agent runs it and it has not finished (restore.ts). */
export async function restore({ values, stateDir, io }: HostCommand): Promise<number> {
  const id = values.id as string;
  const log = agentLogger({ drainId: id, env: io.env, stderr: io.stderr });
  const proc = procReader();
  const store = new DrainStore(stateDir, proc, {
    pid: process.pid,
    startTime: proc.stat(process.pid)?.startTime ?? 0,
  });
  const print = (result: Record<string, unknown>) => io.stdout(`${JSON.stringify({ id, ...result })}\n`);
  const acquired = store.acquire(id);
  if (acquired.kind !== 'owner') {
    const reason =
      acquired.kind === 'finished' ? 'the drain has finished' : 'a drain is running on this host';
    print({ restored: false, reason });
    return 0;
  }
  try {
    const state = acquired.previous;
    if (state?.id !== id) {
      print({ restored: false, reason: 'no such drain' });
      return 0;
    }
    const restored = await restoreHost(state, log);
    store.write(state);
    print({ restored: true, ...restored });
    return restored.failures.length > 0 ? EXIT.internal : 0;
  } finally {
    store.release();
  }
}

/** `guard`: watches the agent of drain `id` and undoes its changes if it is killed (guardian.ts). */
export async function guardDrain({ values, stateDir, io }: HostCommand): Promise<number> {
  const log = agentLogger({ drainId: values.id, env: io.env, stderr: io.stderr, fields: { guardian: true } });
  const [agent, parent] = parseLineage(values.pid as string) as NonNullable<ReturnType<typeof parseLineage>>;
  const result = await guard({
    id: values.id as string,
    stateDir,
    agent,
    parent,
    until: new Date(values.until as string),
    proc: procReader(),
    log,
  });
  log.log('info', `guardian done: ${result}`);
  return 0;
}
