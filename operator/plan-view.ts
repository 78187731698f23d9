// How `plan` reads and prints what the agent found on the host: per target, its kind, schedule and the
// processes it matches. A target that matches nothing is flagged loudly: a drain would leave its workers
// undrained, the most common way to terminate a host undrained.

import { duration, table } from './format';

export interface PlanProcess {
  pid: number;
  command?: string;
  /** Process targets list the children of matches too, with matched false. */
  matched?: boolean;
}

export interface PlanTarget {
  name: string;
  kind: string;
  schedule: string;
  after: string[];
  processes: PlanProcess[];
  /** How many processes it found, listed or not. */
  matches?: number;
  /** Processes left out of `processes` to keep the output within SSM's cut. */
  omitted?: number;
  error?: string;
  /** Set by the agent when the target matches nothing and nothing went wrong looking. */
  unmatched?: boolean;
}

export interface Plan {
  version: number;
  targets: PlanTarget[];
}

/** The plan's first line: `fleet-drain-plan v1 targets=2 unmatched=1 errors=0`. */
export interface PlanSummary {
  targets: number;
  unmatched: number;
  errors: number;
}

/** What could be read of a plan command's stdout. */
export interface ReadPlan {
  plan: Plan | undefined;
  summary: PlanSummary | undefined;
  /** SSM cut the output before the plan's end. */
  truncated: boolean;
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

const SUMMARY = /^fleet-drain-plan v1 targets=(\d+) unmatched=(\d+) errors=(\d+)/m;
const TRUNCATED_MARKER = '--output truncated--';

/**
 * The plan in a plan command's stdout: the agent's summary line and its JSON (on one line, or pretty-printed),
 * with any lines of the document's own around them. Undefined when there is neither. The one place that
 * knows the format: common/plan-output.ts's parser takes its place once the document's plan mode ships it.
 */
export function parsePlanStdout(stdout: string | undefined): ReadPlan | undefined {
  const text = (stdout ?? '').trim();
  const match = SUMMARY.exec(text);
  const summary = match
    ? { targets: Number(match[1]), unmatched: Number(match[2]), errors: Number(match[3]) }
    : undefined;
  const start = text.search(/(^|\n)\{/);
  const end = text.lastIndexOf('}');
  let plan: Plan | undefined;
  if (start >= 0 && end > start) {
    try {
      const value: unknown = JSON.parse(text.slice(start, end + 1));
      plan = isPlan(value) ? value : undefined;
    } catch {
      plan = undefined;
    }
  }
  if (plan === undefined && summary === undefined) return undefined;
  return { plan, summary, truncated: plan === undefined || text.endsWith(TRUNCATED_MARKER) };
}

/** The processes a target would signal: its matches (a process target also lists their children). */
export function matchedProcesses(target: PlanTarget): PlanProcess[] {
  return target.processes.filter((process) => process.matched !== false);
}

/** True when a drain would signal nothing for this target. */
export function isUnmatched(target: PlanTarget): boolean {
  if (target.unmatched === true) return true;
  return target.error === undefined && matchedProcesses(target).length === 0 && !target.omitted;
}

/** Targets to look at: those that match nothing, and those that could not be looked at. */
export function needsAttention(read: ReadPlan): boolean {
  if (read.plan === undefined) return (read.summary?.unmatched ?? 0) + (read.summary?.errors ?? 0) > 0;
  return read.plan.targets.some((target) => isUnmatched(target) || target.error !== undefined);
}

const MAX_PIDS_SHOWN = 4;

function pids(target: PlanTarget): string {
  const matched = matchedProcesses(target);
  const shown = matched
    .slice(0, MAX_PIDS_SHOWN)
    .map((process) => `${process.pid}${process.command ? ` ${process.command}` : ''}`.slice(0, 40));
  const more = matched.length - shown.length + (target.omitted ?? 0);
  return [...shown, ...(more > 0 ? [`+${more} more`] : [])].join(', ');
}

export interface PlanResult {
  instanceId: string;
  groupName: string;
  commandId: string;
  /** The policy: `deployed` (the group's) or the --policy file. */
  policy: string;
  elapsedMs: number;
  read: ReadPlan;
}

function targetRow(target: PlanTarget): string[] {
  const count = matchedProcesses(target).length + (target.omitted ?? 0);
  return [
    target.name,
    target.kind,
    target.schedule,
    target.after.join(', ') || '—',
    isUnmatched(target) ? '0  !! NOTHING' : target.error ? '?' : String(count),
    target.error ? `error: ${target.error}` : pids(target) || '—',
  ];
}

function warnings(plan: Plan, instanceId: string): string[] {
  const lines: string[] = [];
  const unmatched = plan.targets.filter(isUnmatched);
  if (unmatched.length > 0) {
    lines.push(
      `WARNING: ${unmatched.length} of ${plan.targets.length} targets match nothing on ${instanceId}: ${unmatched.map((target) => target.name).join(', ')}. A drain would signal none of their workers: the host would be terminated undrained. Check each target's match (name, unit, container) against what runs there.`,
    );
  }
  const failed = plan.targets.filter((target) => target.error !== undefined);
  if (failed.length > 0) {
    lines.push(
      `WARNING: ${failed.length} targets could not be looked at on ${instanceId}: ${failed.map((target) => target.name).join(', ')} (see their error): a drain would fail there the same way.`,
    );
  }
  return lines;
}

export function renderPlan(result: PlanResult): string[] {
  const { plan, summary } = result.read;
  const lines = [
    `plan on ${result.instanceId} (group ${result.groupName}) · policy ${result.policy} · command ${result.commandId} · ${duration(result.elapsedMs)}`,
    'nothing was signalled and no state was written',
  ];
  if (plan === undefined) {
    lines.push(
      `output truncated: SSM cut the plan; its summary line says ${summary?.targets} targets, ${summary?.unmatched} match nothing, ${summary?.errors} could not be looked at`,
    );
    return lines;
  }
  lines.push(
    '',
    ...table(['target', 'kind', 'schedule', 'after', 'matches', 'processes'], plan.targets.map(targetRow)),
  );
  const warned = warnings(plan, result.instanceId);
  if (warned.length > 0) lines.push('', ...warned);
  return lines;
}

/** The --json form: the run's facts and the plan as the agent printed it. */
export function planJson(result: PlanResult): unknown {
  const { read, ...facts } = result;
  return { ...facts, truncated: read.truncated, summary: read.summary ?? null, plan: read.plan ?? null };
}
