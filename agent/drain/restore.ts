// Undoes what a drain changed on the host, for a drain whose agent was killed before it finished. SSM's
// cancel and its execution timeout SIGKILL the command's whole process group (syscall.Kill(-pid, SIGKILL) in
// amazon-ssm-agent agent/executers/executers_unix.go, the group made with Setpgid there): the agent gets no
// TERM and cannot clean up itself. If the instance then goes back into service (a warm pool that keeps it
// running), it must not keep containers that never restart, services held by `Restart=no`, or the marker
// files that tell its workers not to take work. `run` steps cannot be undone: they are left as they ran.
// Idempotent: what is undone leaves the state, and a second restore finds nothing left to do.

import { readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { restoreRestartPolicies } from '../targets/docker-target.js';
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
  const containersBefore = countContainers(state.restartPolicies ?? {});
  const failed = await restoreRestartPolicies(state.restartPolicies ?? {}, log, true);
  for (const [target, message] of failed) failures.push(`${target}: ${message}`);
  const containers = containersBefore - countContainers(state.restartPolicies ?? {});

  const dropIns = state.dropIns ?? [];
  const kept: string[] = [];
  let removedDropIns = 0;
  for (const path of dropIns) {
    try {
      const text = readFileSync(path, 'utf8');
      // Only a drop-in this agent wrote: a file of the same name from someone else stays.
      if (text.startsWith(DROP_IN_HEADER)) {
        rmSync(path, { force: true });
        removedDropIns += 1;
        try {
          rmdirSync(dirname(path));
        } catch {
          // Not empty (other drop-ins): it stays.
        }
      }
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        kept.push(path);
        failures.push(`${path}: ${errorMessage(error)}`);
      }
    }
  }
  if (removedDropIns > 0) {
    try {
      await cli(['systemctl', 'daemon-reload']);
    } catch (error) {
      failures.push(`systemctl daemon-reload: ${errorMessage(error)}`);
    }
  }
  state.dropIns = kept;

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
  if (state.stepsDone) {
    // The touch steps whose files are gone are no longer done. Each removed file undoes one record.
    for (const phase of ['prepare', 'finally'] as const) {
      const keys = markers.filter((m) => m.phase === phase && !left.includes(m)).map((m) => m.key);
      state.stepsDone[phase] = state.stepsDone[phase].filter((done) => {
        const at = keys.indexOf(done.key);
        if (at < 0) return true;
        keys.splice(at, 1);
        return false;
      });
    }
  }
  const restored = { markers: markers.length - left.length, dropIns: removedDropIns, containers, failures };
  state.restored = {
    at: new Date().toISOString(),
    markers: restored.markers,
    dropIns: restored.dropIns,
    containers: restored.containers,
  };
  log.log(failures.length > 0 ? 'warn' : 'info', 'drain undone: its changes to the host are restored', {
    ...restored,
  });
  return restored;
}

const countContainers = (byTarget: Record<string, Record<string, string>>) =>
  Object.values(byTarget).reduce((sum, byId) => sum + Object.keys(byId).length, 0);
