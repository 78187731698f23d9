// What `drain` prints on stdout, whatever happened: the summary line, then the report (summary-line.ts),
// within what SSM keeps of stdout.

import { drainOutput } from '../report/compact-report.js';
import { type DrainReport, emptyReport } from '../report/report.js';
import type { Io } from './io.js';

/** A report's error message is cut to this many characters: the report must fit in SSM's stdout. */
const REPORT_ERROR_MAX_CHARS = 2_000;

export const printReport = (io: Io, report: DrainReport): void => io.stdout(drainOutput(report));

/** The report of a drain that failed before it started, or inside the agent itself. */
export const errorReport = (id: string, exitCode: number, message: string): DrainReport =>
  emptyReport(id, 'error', exitCode, { error: message.slice(0, REPORT_ERROR_MAX_CHARS) });
