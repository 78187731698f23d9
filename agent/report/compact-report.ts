// Keeps what the agent prints within what SSM keeps of stdout (24,000 bytes, report.ts). Past that, per-process
// entries give way to per-target counts, keeping the processes an operator most needs to see (still running,
// forced). Sizes are UTF-8 bytes, as SSM counts: a command line in Japanese takes three bytes a character.

import {
  AGENT_STDOUT_MAX_BYTES,
  type DrainReport,
  type ProcessReport,
  type StepReport,
  type TargetReport,
} from './report.js';
import { formatSummary } from './summary-line.js';

const size = (report: DrainReport) => Buffer.byteLength(JSON.stringify(report));

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

/** Room left on stdout, by default, for the summary line and newlines around the report. */
const SUMMARY_RESERVE_BYTES = 200;
/** What is left of a step's description, the report's error and a target's error when those are cut. */
const STEP_CHARS = 40;
const REPORT_ERROR_CHARS = 200;
const TARGET_ERROR_CHARS = 100;
/** What is left of the report's error when even the step details go. */
const LAST_RESORT_ERROR_CHARS = 40;

type Compaction = (report: DrainReport, maxChars: number) => DrainReport;

/**
 * The report, summarised until its JSON fits in `maxChars` UTF-8 bytes: each compaction in turn, from the
 * one that loses least, until it fits.
 */
export function compactReport(
  report: DrainReport,
  maxChars = AGENT_STDOUT_MAX_BYTES - SUMMARY_RESERVE_BYTES,
): DrainReport {
  let compact = report;
  for (const compaction of COMPACTIONS) {
    if (size(compact) <= maxChars) return compact;
    compact = compaction(compact, maxChars);
  }
  return compact;
}

/** Commands shortened to the program's base name and the start of its arguments. */
const shortenCommands: Compaction = (report) => ({
  ...report,
  targets: report.targets.map((target) => ({
    ...target,
    processes: target.processes.map((process) => ({
      ...process,
      ...(process.command ? { command: shortCommand(process.command) } : {}),
    })),
  })),
});

/** The command most processes of a target share, said once on the target. */
const hoistCommands: Compaction = (report) => ({ ...report, targets: report.targets.map(hoistCommand) });

/** The processes kept per target halved until it fits (the most interesting kept). */
const halveProcesses: Compaction = (report, maxChars) => {
  let compact = report;
  let limit = Math.max(...compact.targets.map((target) => target.processes.length));
  while (size(compact) > maxChars && limit > 0) {
    limit = Math.floor(limit / 2);
    compact = { ...compact, targets: compact.targets.map((target) => keep(target, limit)) };
  }
  return compact;
};

const trimSteps: Compaction = (report) => {
  const trim = (steps: StepReport[]) =>
    steps.map(({ step, ok, durationMs }) => ({ step: step.slice(0, STEP_CHARS), ok, durationMs }));
  return { ...report, prepare: trim(report.prepare), finally: trim(report.finally) };
};

/** Error texts cut (a supervisor's stderr may be long, and in any script). */
const cutErrors: Compaction = (report) => ({
  ...report,
  ...(report.error ? { error: report.error.slice(0, REPORT_ERROR_CHARS) } : {}),
  targets: report.targets.map((target) => ({
    ...target,
    ...(target.error ? { error: target.error.slice(0, TARGET_ERROR_CHARS) } : {}),
    ...(target.command ? { command: shortCommand(target.command) } : {}),
  })),
});

/** A policy with very many targets: the worst ones kept (incomplete, error, forced), the rest counted. */
const keepWorstTargets: Compaction = (report, maxChars) => {
  const worst = [...report.targets].sort((a, b) => targetRank(a) - targetRank(b));
  let kept = worst.length;
  while (kept > 0 && size({ ...report, targets: worst.slice(0, kept), omittedTargets: 1 }) > maxChars) {
    kept = Math.floor(kept / 2);
  }
  return {
    ...report,
    targets: worst.slice(0, kept),
    omittedTargets: (report.omittedTargets ?? 0) + worst.length - kept,
  };
};

/** The last resort: no step details at all. */
const dropSteps: Compaction = (report) => {
  const steps: StepReport[] = [];
  return {
    ...report,
    prepare: steps,
    finally: steps,
    ...(report.error ? { error: report.error.slice(0, LAST_RESORT_ERROR_CHARS) } : {}),
  };
};

const COMPACTIONS: readonly Compaction[] = [
  shortenCommands,
  hoistCommands,
  halveProcesses,
  trimSteps,
  cutErrors,
  keepWorstTargets,
  dropSteps,
];

const TARGET_RANK: Record<TargetReport['outcome'], number> = {
  incomplete: 0,
  error: 1,
  forced: 2,
  skipped: 3,
  drained: 4,
  nothing: 5,
};
const targetRank = (target: TargetReport) => TARGET_RANK[target.outcome] ?? 6;

/**
 * What `drain` prints on stdout: the summary line, then the report as one line of JSON, compacted so that
 * the whole stays within AGENT_STDOUT_MAX_BYTES.
 */
export function drainOutput(report: DrainReport): string {
  const summary = `${formatSummary(report)}\n`;
  const budget = AGENT_STDOUT_MAX_BYTES - Buffer.byteLength(summary) - 1;
  return `${summary}${JSON.stringify(compactReport(report, budget))}\n`;
}
