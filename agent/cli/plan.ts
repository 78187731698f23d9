// `plan`: what each target of the policy would match on this host, and its schedule. Signals nothing.

import { createTarget } from '../drain/create-target.js';
import { procReader } from '../host/proc.js';
import type { ResolvedPolicy } from '../policy/policy.js';
import { REPORT_VERSION } from '../report/report.js';
import { ProcessTarget } from '../targets/process-target.js';
import { protectProcesses } from '../targets/protected-processes.js';

export async function plan(policy: ResolvedPolicy): Promise<unknown> {
  const proc = procReader();
  const protection = protectProcesses(proc);
  const clock = () => 0;
  const targets = [];
  for (const spec of policy.targets) {
    const target = createTarget(spec, { proc, protection, clock });
    await target.discover({ readOnly: true });
    const processes =
      target instanceof ProcessTarget
        ? target.all().map(({ pid, command, matched }) => ({ pid, command, matched }))
        : target.processes().map(({ pid, command }) => ({ pid, command }));
    targets.push({
      name: spec.name,
      kind: target.kind,
      schedule: spec.schedule.text,
      after: spec.after,
      processes,
      ...(target.error ? { error: target.error } : {}),
    });
  }
  return { version: REPORT_VERSION, targets };
}
