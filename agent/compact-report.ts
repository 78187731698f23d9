// Keeps the report within what SSM keeps of stdout (24,000 characters). Past that, per-process entries give
// way to per-target counts, keeping the processes an operator most needs to see (still running, forced).

import { type DrainReport, type ProcessReport, REPORT_MAX_CHARS, type TargetReport } from './report.js';

const size = (report: DrainReport) => JSON.stringify(report).length;

const SHORT_COMMAND_CHARS = 24;

/** `/usr/bin/python3 -m celery worker` → `python3 -m celery worker`, cut to SHORT_COMMAND_CHARS. */
export function shortCommand(command: string): string {
  const space = command.indexOf(' ');
  const program = space < 0 ? command : command.slice(0, space);
  const base = program.startsWith('/') ? program.slice(program.lastIndexOf('/') + 1) : program;
  return (base + (space < 0 ? '' : command.slice(space))).slice(0, SHORT_COMMAND_CHARS);
}

function hoistCommand(target: TargetReport): TargetReport {
  const counts = new Map<string, number>();
  for (const { command } of target.processes)
    if (command) counts.set(command, (counts.get(command) ?? 0) + 1);
  const [common, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [];
  if (common === undefined || (count ?? 0) < 2) return target;
  return {
    ...target,
    command: common,
    processes: target.processes.map(({ command, ...rest }) =>
      command === common ? rest : { ...rest, command },
    ),
  };
}

/** Most interesting first: still running, then forced, then the rest. */
const rank = (process: ProcessReport) => (process.exitedAfterMs === null ? 0 : process.forced ? 1 : 2);

function keep(target: TargetReport, count: number): TargetReport {
  if (target.processes.length <= count) return target;
  const sorted = [...target.processes].sort((a, b) => rank(a) - rank(b));
  const kept = sorted.slice(0, count);
  const left = sorted.slice(count);
  const before = target.omitted ?? { count: 0, exited: 0, forced: 0, running: 0 };
  return {
    ...target,
    processes: kept,
    omitted: {
      count: before.count + left.length,
      exited: before.exited + left.filter((p) => p.exitedAfterMs !== null).length,
      forced: before.forced + left.filter((p) => p.forced).length,
      running: before.running + left.filter((p) => p.exitedAfterMs === null).length,
    },
  };
}

/** The report, summarised until its JSON fits in `maxChars`. */
export function compactReport(report: DrainReport, maxChars = REPORT_MAX_CHARS - 1): DrainReport {
  if (size(report) <= maxChars) return report;
  // First shorten commands to the program's base name and the start of its arguments.
  let compact: DrainReport = {
    ...report,
    targets: report.targets.map((target) => ({
      ...target,
      processes: target.processes.map((process) => ({
        ...process,
        ...(process.command ? { command: shortCommand(process.command) } : {}),
      })),
    })),
  };
  // Then say the command most processes of a target share once, on the target.
  if (size(compact) > maxChars) compact = { ...compact, targets: compact.targets.map(hoistCommand) };
  // Halve the processes kept per target until it fits; then drop step details as a last resort.
  let limit = Math.max(...compact.targets.map((target) => target.processes.length));
  while (size(compact) > maxChars && limit > 0) {
    limit = Math.floor(limit / 2);
    compact = { ...compact, targets: compact.targets.map((target) => keep(target, limit)) };
  }
  if (size(compact) > maxChars) {
    const trim = (steps: DrainReport['prepare']) =>
      steps.map(({ step, ok, durationMs }) => ({ step: step.slice(0, 40), ok, durationMs }));
    compact = { ...compact, prepare: trim(compact.prepare), finally: trim(compact.finally) };
  }
  return compact;
}
