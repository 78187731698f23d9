// How `plan` reads and prints what the agent found on the host: per target, its kind, schedule and the
// processes it matches. A target that matches nothing is flagged loudly: a drain would leave its workers
// undrained, the most common way to terminate a host undrained.

import { duration, table } from './format';

export interface PlanProcess {
  pid: number;
  command: string;
  /** Process targets list the children of matches too, with matched false. */
  matched?: boolean;
}

export interface PlanTarget {
  name: string;
  kind: string;
  schedule: string;
  after: string[];
  processes: PlanProcess[];
  error?: string;
  /** The document's plan mode sets it when the target matches nothing. */
  unmatched?: boolean;
}

export interface Plan {
  version: number;
  targets: PlanTarget[];
}

function isPlan(value: unknown): value is Plan {
  if (typeof value !== 'object' || value === null) return false;
  const plan = value as Partial<Plan>;
  return (
    typeof plan.version === 'number' &&
    Array.isArray(plan.targets) &&
    plan.targets.every(
      (target) =>
        typeof target === 'object' &&
        target !== null &&
        typeof target.name === 'string' &&
        Array.isArray(target.processes),
    )
  );
}

/**
 * The plan in the command's stdout: the agent's `plan` JSON (agent/cli/plan.ts), pretty-printed, with any
 * lines of the document's own around it. Undefined when there is none or SSM cut it.
 */
export function parsePlanStdout(stdout: string | undefined): Plan | undefined {
  const text = stdout ?? '';
  const start = text.search(/(^|\n)\{/);
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(start, end + 1));
    return isPlan(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The processes a target would signal: its matches (a process target also lists their children). */
export function matchedProcesses(target: PlanTarget): PlanProcess[] {
  return target.processes.filter((process) => process.matched !== false);
}

/** True when a drain would signal nothing for this target. */
export function isUnmatched(target: PlanTarget): boolean {
  return target.unmatched === true || matchedProcesses(target).length === 0;
}

const MAX_PIDS_SHOWN = 4;

function pids(target: PlanTarget): string {
  const matched = matchedProcesses(target);
  const shown = matched
    .slice(0, MAX_PIDS_SHOWN)
    .map((process) => `${process.pid} ${process.command}`.slice(0, 40));
  const more = matched.length - shown.length;
  return [...shown, ...(more > 0 ? [`+${more} more`] : [])].join(', ');
}

export interface PlanResult {
  instanceId: string;
  groupName: string;
  commandId: string;
  /** The policy: `deployed` (the group's) or the --policy file. */
  policy: string;
  elapsedMs: number;
  plan: Plan;
}

export function renderPlan(result: PlanResult): string[] {
  const { plan } = result;
  const lines = [
    `plan on ${result.instanceId} (group ${result.groupName}) · policy ${result.policy} · command ${result.commandId} · ${duration(result.elapsedMs)}`,
    'nothing was signalled and no state was written',
    '',
    ...table(
      ['target', 'kind', 'schedule', 'after', 'matches', 'processes'],
      plan.targets.map((target) => [
        target.name,
        target.kind,
        target.schedule,
        target.after.join(', ') || '—',
        isUnmatched(target) ? '0  !! NOTHING' : String(matchedProcesses(target).length),
        target.error ? `error: ${target.error}` : pids(target) || '—',
      ]),
    ),
  ];
  const unmatched = plan.targets.filter(isUnmatched);
  if (unmatched.length > 0) {
    lines.push(
      '',
      `WARNING: ${unmatched.length} of ${plan.targets.length} targets match nothing on ${result.instanceId}: ${unmatched.map((target) => target.name).join(', ')}. A drain would signal none of their workers: the host would be terminated undrained. Check each target's match (name, unit, container) against what runs there.`,
    );
  }
  return lines;
}
