// Finds the agent's summary line and JSON report in SSM's StandardOutputContent. That text is the command's
// stdout, whole only while under 24,000 bytes; past that SSM keeps 23,980 bytes and appends
// `--output truncated--` (agent/report/report.ts). The summary line comes first, so the outcome survives any cut;
// the report may be cut, empty, or mixed with the document's own lines ("node not found …"). A command sent
// with an older document version prints the JSON report alone: that is read too.

import type { DrainReport } from '../../agent/report/report';
import {
  DRAIN_OUTCOMES,
  type DrainSummary,
  parseSummary,
  SUMMARY_PREFIX,
} from '../../agent/report/summary-line';

/** What SSM appends to stdout it cut (amazon-ssm-agent iohandler.go, OutputTruncatedSuffix). */
export const SSM_TRUNCATED_SUFFIX = '--output truncated--';

/** More than SSM ever returns; bounds the work on hostile input. */
const MAX_SCANNED_CHARS = 64_000;

/** True when `value` has the fields the Lambda relies on (version 1, id, a known outcome). */
export function isDrainReport(value: unknown): value is DrainReport {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const report = value as Record<string, unknown>;
  return (
    report.version === 1 &&
    typeof report.id === 'string' &&
    typeof report.outcome === 'string' &&
    DRAIN_OUTCOMES.has(report.outcome)
  );
}

function tryParse(text: string): DrainReport | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isDrainReport(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON report in `text`, or undefined when there is none or it was cut off. */
function findReport(text: string): DrainReport | undefined {
  if (text === '') return undefined;
  const whole = tryParse(text);
  if (whole !== undefined) return whole;
  // The agent prints one compact line; the document may print lines before or after it. Last one wins.
  const lines = text.split('\n');
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = (lines[index] ?? '').trim();
    if (line.startsWith('{') && line.endsWith('}')) {
      const report = tryParse(line);
      if (report !== undefined) return report;
    }
  }
  // A pretty-printed report among other lines: from the first line that opens an object to the last brace.
  const start = text.search(/(^|\n)\{/);
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) return tryParse(text.slice(start, end + 1));
  return undefined;
}

/** What a drain command printed, as far as it could be read. */
export interface DrainOutput {
  /** The agent's summary line (the last whole one), when there is one. */
  summary: DrainSummary | undefined;
  /** The JSON report, when it could be read whole. */
  report: DrainReport | undefined;
  /** SSM cut the output, or a summary line was found without a readable report after it. */
  truncated: boolean;
}

/** Reads the summary line and the report out of `stdout`. Never throws. */
export function parseDrainOutput(stdout: string | undefined): DrainOutput {
  if (typeof stdout !== 'string') return { summary: undefined, report: undefined, truncated: false };
  const text = stdout.slice(0, MAX_SCANNED_CHARS).trim();
  const cut = text.endsWith(SSM_TRUNCATED_SUFFIX);
  let summary: DrainSummary | undefined;
  // Only whole lines count: one that the cut reached ends in the suffix, not in a newline.
  const lines = text.split('\n');
  const whole = cut ? lines.slice(0, -1) : lines;
  for (const line of whole) {
    if (!line.startsWith(SUMMARY_PREFIX)) continue;
    summary = parseSummary(line) ?? summary;
  }
  const report = findReport(
    lines
      .filter((line) => !line.startsWith(SUMMARY_PREFIX))
      .join('\n')
      .trim(),
  );
  return { summary, report, truncated: cut || (summary !== undefined && report === undefined) };
}

/** The report in `stdout`, or undefined when there is none or it was cut off. Never throws. */
export function parseReport(stdout: string | undefined): DrainReport | undefined {
  return parseDrainOutput(stdout).report;
}
