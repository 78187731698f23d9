// Finds the agent's JSON report in SSM's StandardOutputContent. That text is the first 24,000 characters of
// stdout, so it may be truncated, empty, or mixed with the document's own lines ("node not found …").

import type { DrainOutcome as AgentOutcome, DrainReport } from '../agent/report';

const AGENT_OUTCOMES: ReadonlySet<string> = new Set<AgentOutcome>([
  'drained',
  'forced',
  'incomplete',
  'interrupted',
  'nothing',
  'error',
]);

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
    AGENT_OUTCOMES.has(report.outcome)
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

/** The report in `stdout`, or undefined when there is none or it was cut off. Never throws. */
export function parseReport(stdout: string | undefined): DrainReport | undefined {
  if (typeof stdout !== 'string') return undefined;
  const text = stdout.slice(0, MAX_SCANNED_CHARS).trim();
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
