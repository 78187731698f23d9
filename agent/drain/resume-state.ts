// Taking over a drain whose agent died: what of its saved state still holds under the current policy.

import type { Logger } from '../../common/log.js';
import { SIGKILL } from '../host/signals.js';
import { identity } from '../targets/process-target.js';
import type { DrainState } from './drain-state.js';

/**
 * Same policy: the state goes on as saved. Changed policy: every schedule starts again, and what already got
 * a graceful signal or a stop command is `spared` another (only KILL reaches it); a target flagged
 * `graceful` or `stopped` spares all it lists (the agent may have died before the record).
 */
export function resumeState(previous: DrainState, fingerprint: string, log: Logger): DrainState {
  if (previous.policy === undefined) {
    log.log('info', 'the drain state names no policy (an earlier agent version): taking it as this one');
    return { ...previous, policy: fingerprint };
  }
  if (previous.policy === fingerprint) return previous;
  const spared = new Set(previous.spared);
  for (const progress of Object.values(previous.targets)) {
    const signalled = progress.stopped === true || progress.graceful === true;
    for (const process of progress.processes) {
      if (!signalled && process.signals.every(([name]) => name === SIGKILL.name)) continue;
      // Processes by identity; units and containers (no start time) by name or id.
      const key =
        process.startTime !== undefined ? identity(process.pid, process.startTime) : process.command;
      if (key) spared.add(key);
    }
  }
  log.log('warn', 'the policy changed since this drain began: its schedules start again from the beginning', {
    previousPolicy: previous.policy ?? null,
    policy: fingerprint,
    spared: spared.size,
  });
  return { ...previous, policy: fingerprint, targets: {}, spared: [...spared] };
}
