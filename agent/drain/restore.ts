// Undoes what a drain changed on the host when its agent was killed (SSM's cancel and timeout KILL the
// whole process group: no chance to clean up): containers' restart policies, systemd drop-ins, the files
// touch steps created. `run` steps cannot be undone. Idempotent: a second restore finds nothing to do.

import { readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { type RestartPoliciesByTarget, restoreRestartPolicies } from '../targets/restart-policies.js';
import { cli } from '../targets/supervised-target.js';
import { DROP_IN_HEADER } from '../targets/systemd-target.js';
import type { DrainState } from './drain-state.js';

export interface Restored {
  markers: number;
  dropIns: number;
  containers: number;
  /** What could not be undone, one line each. */
  failures: string[];
}

/**
 * Undoes the drain's changes recorded in `state`, and updates `state` to say so: restored containers,
 * removed drop-ins and markers leave it, and a removed marker's touch step is no longer done, so that a
 * later drain with the same id touches it again (it also holds restarts again as it finds its targets).
 */
export async function restoreHost(state: DrainState, log: Logger): Promise<Restored> {
  const failures: string[] = [];
  const containers = await restoreContainers(state, log, failures);
  const dropIns = await removeDropIns(state, failures);
  const markers = removeMarkers(state, failures);
  const restored = { markers, dropIns, containers, failures };
  state.restored = { at: new Date().toISOString(), markers, dropIns, containers };
  log.log(failures.length > 0 ? 'warn' : 'info', 'drain undone: its changes to the host are restored', {
    ...restored,
  });
  return restored;
}

/** Puts every container's restart policy back, running or not; returns how many. */
async function restoreContainers(state: DrainState, log: Logger, failures: string[]): Promise<number> {
  const byTarget = state.restartPolicies ?? {};
  const before = countContainers(byTarget);
  const failed = await restoreRestartPolicies(byTarget, log, { includeRunning: true });
  for (const [target, message] of failed) failures.push(`${target}: ${message}`);
  return before - countContainers(byTarget);
}

/** Removes the drop-ins this agent wrote (a file of the same name from someone else stays); returns how many. */
async function removeDropIns(state: DrainState, failures: string[]): Promise<number> {
  const kept: string[] = [];
  let removed = 0;
  for (const path of state.dropIns ?? []) {
    try {
      if (!readFileSync(path, 'utf8').startsWith(DROP_IN_HEADER)) continue;
      rmSync(path, { force: true });
      removed += 1;
      try {
        rmdirSync(dirname(path));
      } catch {
        // Not empty (other drop-ins): it stays.
      }
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue;
      kept.push(path);
      failures.push(`${path}: ${errorMessage(error)}`);
    }
  }
  if (removed > 0) {
    try {
      await cli(['systemctl', 'daemon-reload']);
    } catch (error) {
      failures.push(`systemctl daemon-reload: ${errorMessage(error)}`);
    }
  }
  state.dropIns = kept;
  return removed;
}

/** Removes the files touch steps created, and forgets those steps were done; returns how many. */
function removeMarkers(state: DrainState, failures: string[]): number {
  const markers = state.markers ?? [];
  const left: typeof markers = [];
  for (const marker of markers) {
    try {
      rmSync(marker.path, { force: true });
    } catch (error) {
      left.push(marker);
      failures.push(`${marker.path}: ${errorMessage(error)}`);
    }
  }
  state.markers = left;
  const { stepsDone } = state;
  if (stepsDone) {
    // Each removed file undoes one record of its step.
    for (const phase of ['prepare', 'finally'] as const) {
      const keys = markers.filter((m) => m.phase === phase && !left.includes(m)).map((m) => m.key);
      stepsDone[phase] = stepsDone[phase].filter((done) => {
        const at = keys.indexOf(done.key);
        if (at < 0) return true;
        keys.splice(at, 1);
        return false;
      });
    }
  }
  return markers.length - left.length;
}

const countContainers = (byTarget: RestartPoliciesByTarget) =>
  Object.values(byTarget).reduce((sum, byId) => sum + Object.keys(byId).length, 0);
