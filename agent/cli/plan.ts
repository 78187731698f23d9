// `plan`: what each target of the policy would match on this host, and its schedule. Signals nothing, writes
// nothing. A target that matches nothing is flagged `unmatched`; the output stays within what SSM keeps of
// stdout, so that the plan reads back whole through the fleet-drain document (common/plan-output.ts).

import {
  formatPlanOutput,
  type PlanOutput,
  type PlanProcess,
  type PlanTarget,
} from '../../common/plan-output.js';
import { createTarget } from '../drain/create-target.js';
import { procReader } from '../host/proc.js';
import type { ResolvedPolicy } from '../policy/policy.js';
import { shortCommand } from '../report/compact-report.js';
import { AGENT_STDOUT_MAX_BYTES, REPORT_VERSION } from '../report/report.js';
import { ProcessTarget } from '../targets/process-target.js';
import { protectProcesses } from '../targets/protected-processes.js';

export async function plan(policy: ResolvedPolicy): Promise<PlanOutput> {
  const proc = procReader();
  const protection = protectProcesses(proc);
  const clock = () => 0;
  const targets: PlanTarget[] = [];
  for (const spec of policy.targets) {
    const target = createTarget(spec, { proc, protection, clock });
    await target.discover({ readOnly: true });
    const processes: PlanProcess[] =
      target instanceof ProcessTarget
        ? target.all().map(({ pid, command, matched }) => ({ pid, command, matched }))
        : target.processes().map(({ pid, command }) => (command === undefined ? { pid } : { pid, command }));
    targets.push({
      name: spec.name,
      kind: target.kind,
      schedule: spec.schedule.text,
      after: spec.after,
      matches: processes.length,
      ...(processes.length === 0 && !target.error ? { unmatched: true as const } : {}),
      processes,
      ...(target.error ? { error: target.error } : {}),
    });
  }
  return fitPlan({ version: REPORT_VERSION, targets });
}

const bytes = (output: PlanOutput) => Buffer.byteLength(formatPlanOutput(output));

/**
 * The plan within AGENT_STDOUT_MAX_BYTES: past it, commands are shortened, then each target lists fewer
 * processes (directly matched ones first) and counts the rest in `omitted`. Names, kinds, schedules, counts
 * and the unmatched flags always stay.
 */
export function fitPlan(output: PlanOutput, budget = AGENT_STDOUT_MAX_BYTES): PlanOutput {
  if (bytes(output) <= budget) return output;
  const short: PlanOutput = {
    ...output,
    targets: output.targets.map((target) => ({
      ...target,
      processes: target.processes.map((p) =>
        p.command === undefined ? p : { ...p, command: shortCommand(p.command) },
      ),
    })),
  };
  let keep = Math.max(0, ...short.targets.map((target) => target.processes.length));
  let fitted = short;
  while (bytes(fitted) > budget && keep > 0) {
    keep = Math.floor(keep / 2);
    fitted = { ...short, targets: short.targets.map((target) => keepFirst(target, keep)) };
  }
  return fitted;
}

function keepFirst(target: PlanTarget, count: number): PlanTarget {
  if (target.processes.length <= count) return target;
  const sorted = [...target.processes].sort(
    (a, b) => Number(b.matched !== false) - Number(a.matched !== false),
  );
  return { ...target, processes: sorted.slice(0, count), omitted: target.processes.length - count };
}
