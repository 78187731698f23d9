// How `report` prints the agent's report of a drain: a few lines on the command and the outcome, then one
// row per target (laid out like the drill's table), the prepare and finally steps, and what could not be
// read. Parsing is the Lambda's own (lambda/decide/parse-report.ts): the same cut, the same summary line.

import type { DrainReport, StepReport, TargetReport } from '../agent/report/report';
import type { DrainSummary } from '../agent/report/summary-line';
import { type DrainOutput, parseDrainOutput } from '../lambda/decide/parse-report';
import { duration, iso, table } from './format';

/** One command's invocation on its instance, as `report` shows it. */
export interface ReportResult {
  instanceId: string;
  commandId: string;
  drainId: string | undefined;
  trigger: string | undefined;
  status: string;
  statusDetails: string | undefined;
  responseCode: number | undefined;
  requestedMs: number | undefined;
  startedMs: number | undefined;
  endedMs: number | undefined;
  output: DrainOutput;
}

/** The invocation's stdout, read as the Lambda reads it. */
export function readOutput(stdout: string | undefined): DrainOutput {
  return parseDrainOutput(stdout);
}

const seconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`;

function signalCounts(target: TargetReport): string {
  const counts = new Map<string, number>();
  for (const process of target.processes)
    for (const [signal] of process.signals) counts.set(signal, (counts.get(signal) ?? 0) + 1);
  return [...counts].map(([signal, count]) => `${signal}×${count}`).join(' ') || '—';
}

function targetRow(target: TargetReport): string[] {
  const omitted = target.omitted;
  const processes = target.processes.length + (omitted?.count ?? 0);
  const stopped = target.processes.filter((p) => p.exitedAfterMs !== null).length + (omitted?.exited ?? 0);
  const forced = target.processes.filter((p) => p.forced).length + (omitted?.forced ?? 0);
  const slowest = Math.max(-1, ...target.processes.map((p) => p.exitedAfterMs ?? -1));
  return [
    target.name,
    target.kind,
    target.outcome,
    String(processes),
    String(stopped),
    String(forced),
    signalCounts(target),
    slowest < 0 ? '—' : seconds(slowest),
    target.error ?? '',
  ];
}

function stepLine(phase: string, step: StepReport): string {
  const result = step.ok ? 'ok' : `failed${step.error ? `: ${step.error}` : ''}`;
  return `${phase}: ${step.step} ${result} (${seconds(step.durationMs)})`;
}

function reportLines(report: DrainReport): string[] {
  const lines = [
    `outcome ${report.outcome} · exit ${report.exitCode} · drained in ${seconds(report.durationMs)}${report.deadline ? ` · deadline ${report.deadline}` : ''}${report.joined ? ` · joined ${report.joinedDrainId ?? 'a running drain'}` : ''}`,
  ];
  if (report.error) lines.push(`error: ${report.error}`);
  if (report.targets.length > 0) {
    lines.push(
      '',
      ...table(
        ['target', 'kind', 'outcome', 'processes', 'stopped', 'forced', 'signals', 'slowest', 'error'],
        report.targets.map(targetRow),
      ),
    );
  } else lines.push('no targets in the report');
  if (report.omittedTargets)
    lines.push(`${report.omittedTargets} more targets left out of the report to fit SSM's output`);
  const steps = [
    ...report.prepare.map((step) => stepLine('prepare', step)),
    ...report.finally.map((step) => stepLine('finally', step)),
  ];
  if (steps.length > 0) lines.push('', ...steps);
  return lines;
}

function summaryLine(summary: DrainSummary): string {
  return `outcome ${summary.outcome} · exit ${summary.exitCode} (from the agent's summary line)`;
}

/** The lines `report` prints. */
export function renderReport(result: ReportResult, nowMs: number): string[] {
  const { output } = result;
  const code =
    result.responseCode === undefined || result.responseCode < 0 ? '' : ` (exit ${result.responseCode})`;
  const ran =
    result.startedMs === undefined
      ? ''
      : ` · ran ${duration((result.endedMs ?? nowMs) - result.startedMs)}${result.endedMs === undefined ? ' so far' : ''}`;
  const lines = [
    `drain ${result.drainId ?? '?'}${result.trigger ? ` (${result.trigger})` : ''} on ${result.instanceId}`,
    `command ${result.commandId} · ${result.status}${result.statusDetails && result.statusDetails !== result.status ? ` (${result.statusDetails})` : ''}${code}${result.requestedMs === undefined ? '' : ` · sent ${iso(result.requestedMs)}`}${ran}`,
  ];
  if (output.report !== undefined) lines.push(...reportLines(output.report));
  else if (output.summary !== undefined) lines.push(summaryLine(output.summary));
  if (output.truncated) {
    lines.push(
      output.report === undefined
        ? "output truncated: SSM keeps the first 24,000 characters of a command's stdout and the per-target report was cut; the outcome above is the agent's summary line"
        : "output truncated: SSM cut the command's stdout after the report",
    );
  } else if (output.report === undefined && output.summary === undefined) {
    lines.push(
      ['Pending', 'InProgress', 'Delayed'].includes(result.status)
        ? 'the drain is still running: the agent prints its report when it exits'
        : 'no report in the command output: the agent did not run to the end (see the command output in the SSM console)',
    );
  }
  return lines;
}

/** The --json form: the command's facts, and the agent's report as it printed it. */
export function reportJson(result: ReportResult): Record<string, unknown> {
  const time = (ms: number | undefined) => (ms === undefined ? null : iso(ms));
  return {
    instanceId: result.instanceId,
    commandId: result.commandId,
    drainId: result.drainId ?? null,
    trigger: result.trigger ?? null,
    status: result.status,
    statusDetails: result.statusDetails ?? null,
    responseCode: result.responseCode ?? null,
    requestedAt: time(result.requestedMs),
    startedAt: time(result.startedMs),
    endedAt: time(result.endedMs),
    truncated: result.output.truncated,
    summary: result.output.summary ?? null,
    report: result.output.report ?? null,
  };
}
