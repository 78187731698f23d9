// How `plan` reads and prints what the agent found on the host: per target, its kind, schedule and the
// processes it matches. A target that matches nothing is flagged loudly: a drain would leave its workers
// undrained, the most common way to terminate a host undrained.

import {
  type ParsedPlanOutput,
  type PlanOutput,
  type PlanProcess,
  type PlanTarget,
  parsePlanOutput,
} from '../common/plan-output';
import { duration, table } from './format';

/** What could be read of a plan command's stdout (common/plan-output.ts). */
export type ReadPlan = ParsedPlanOutput;

/**
 * The plan in a plan command's stdout, read with the parser of the agent's own format; an Error naming
 * what is wrong when it is not a plan.
 */
export function parsePlanStdout(stdout: string | undefined): ReadPlan {
  return parsePlanOutput(stdout ?? '');
}

/** The processes a target would signal: its matches (a process target also lists their children). */
export function matchedProcesses(target: PlanTarget): PlanProcess[] {
  return target.processes.filter((process) => process.matched !== false);
}

/** True when a drain would signal nothing for this target (the agent says so). */
export const isUnmatched = (target: PlanTarget): boolean => target.unmatched === true;

/** Targets to look at: those that match nothing, and those that could not be looked at. */
export function needsAttention(read: ReadPlan): boolean {
  if (read.plan === undefined) return read.summary.unmatched + read.summary.errors > 0;
  return read.plan.targets.some((target) => isUnmatched(target) || target.error !== undefined);
}

const MAX_PIDS_SHOWN = 4;
const COMMAND_SHOWN_CHARS = 40;

/** A command line for the table: absolute paths by their last part, cut (`node demo-worker.mjs queue`). */
export function displayCommand(command: string): string {
  const words = command
    .split(' ')
    .map((word) => (word.startsWith('/') ? word.slice(word.lastIndexOf('/') + 1) : word));
  return words.join(' ').slice(0, COMMAND_SHOWN_CHARS);
}

function pids(target: PlanTarget): string {
  const matched = matchedProcesses(target);
  const shown = matched
    .slice(0, MAX_PIDS_SHOWN)
    .map((process) => `${process.pid}${process.command ? ` ${displayCommand(process.command)}` : ''}`);
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
  return [
    target.name,
    target.kind,
    target.schedule,
    target.after.join(', ') || '—',
    isUnmatched(target) ? '0  !! NOTHING' : target.error ? '?' : String(target.matches),
    target.error ? `error: ${target.error}` : pids(target) || '—',
  ];
}

function warnings(plan: PlanOutput, instanceId: string): string[] {
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

/** The plan's table and warnings, or what its summary line says when SSM cut it. */
export function renderPlanBody(read: ReadPlan, instanceId: string): string[] {
  const { plan, summary } = read;
  if (plan === undefined) {
    return [
      `output truncated: SSM cut the plan; its summary line says ${summary.targets} targets, ${summary.unmatched} match nothing, ${summary.errors} could not be looked at`,
    ];
  }
  const lines = table(
    ['target', 'kind', 'schedule', 'after', 'matches', 'processes'],
    plan.targets.map(targetRow),
  );
  const warned = warnings(plan, instanceId);
  return warned.length > 0 ? [...lines, '', ...warned] : lines;
}

export function renderPlan(result: PlanResult): string[] {
  return [
    `plan on ${result.instanceId} (group ${result.groupName}) · policy ${result.policy} · command ${result.commandId} · ${duration(result.elapsedMs)}`,
    'nothing was signalled and no state was written',
    '',
    ...renderPlanBody(result.read, result.instanceId),
  ];
}

/** The --json form: the run's facts and the plan as the agent printed it. */
export function planJson(result: PlanResult): unknown {
  const { read, ...facts } = result;
  return { ...facts, truncated: read.truncated, summary: read.summary, plan: read.plan ?? null };
}
