// Keeps the report within what SSM keeps of stdout (24,000 characters). Past that, per-process entries give
// way to per-target counts, keeping the processes an operator most needs to see (still running, forced).

import { type DrainReport, type ProcessReport, REPORT_MAX_CHARS, type TargetReport } from './report.js';

const size = (report: DrainReport) => JSON.stringify(report).length;

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
  let compact: DrainReport = {
    ...report,
    targets: report.targets.map((target) => ({
      ...target,
      processes: target.processes.map((process) => ({ ...process, command: process.command.slice(0, 32) })),
    })),
  };
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
