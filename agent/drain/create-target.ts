// The target a policy entry names: processes matched on /proc, a systemd unit or docker containers.

import type { ProcReader } from '../host/proc.js';
import type { ResolvedTarget } from '../policy/policy.js';
import { DockerTarget, type RestartPolicies } from '../targets/docker-target.js';
import { type Kill, ProcessTarget, type TrackedProcess } from '../targets/process-target.js';
import type { Protection } from '../targets/protected-processes.js';
import { type DropIns, SystemdTarget } from '../targets/systemd-target.js';
import type { DrainClock, DrainTarget } from '../targets/target.js';
import type { TargetProgress } from './drain-state.js';

export interface TargetContext {
  proc: ProcReader;
  protection: Protection;
  clock: DrainClock;
  kill?: Kill | undefined;
  /** What an earlier agent of this drain saved about the target. */
  known?: TargetProgress | undefined;
  /** What got a graceful signal under an earlier policy of the drain (DrainState.spared). */
  spared?: ReadonlySet<string>;
  /** Where a docker target records the restart policies it turns off. */
  restarts?: RestartPolicies;
  /** Where a systemd target records the drop-ins it writes. */
  dropIns?: DropIns;
}

export function createTarget(spec: ResolvedTarget, context: TargetContext): DrainTarget {
  const { selector } = spec;
  const { clock, spared } = context;
  if (selector.kind === 'systemd')
    return new SystemdTarget(spec.name, selector.unit, clock, { spared, dropIns: context.dropIns });
  if (selector.kind === 'docker')
    return new DockerTarget(spec.name, selector, clock, { spared, restarts: context.restarts });
  const known = (context.known?.processes ?? [])
    .filter((process) => process.startTime !== undefined)
    .map((process) => ({ ...process, matched: process.matched ?? true }) as TrackedProcess);
  return new ProcessTarget(
    spec.name,
    selector.match,
    selector.scope,
    { proc: context.proc, protection: context.protection, clock, kill: context.kill, known, spared },
    selector.stop ? 'command' : 'process',
  );
}
