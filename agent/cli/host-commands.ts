// The commands that look after a drain on this host rather than run one: `status`, `restore` and the
// internal `guard` (the guardian a drain starts, guardian.ts).

import { DrainStore } from '../drain/drain-state.js';
import { guard, parseLineage } from '../drain/guardian.js';
import { restoreHost } from '../drain/restore.js';
import { procReader } from '../host/proc.js';
import { EXIT } from '../report/exit-codes.js';
import type { OptionValues } from './command-line.js';
import type { Io } from './io.js';
import { agentLogger } from './log-context.js';

export interface HostCommand {
  values: OptionValues;
  stateDir: string;
  io: Io;
}

/** `status`: the current or last drain as JSON. */
export function status({ stateDir, io }: HostCommand): number {
  const store = new DrainStore(stateDir, procReader(), { pid: process.pid, startTime: 0 });
  io.stdout(`${JSON.stringify(store.latest() ?? { status: 'none', stateDir })}\n`);
  return 0;
}

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
