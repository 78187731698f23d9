// The summary line, first on stdout before the JSON report, where SSM's cut at 24,000 bytes never reaches:
// `fleet-drain v1 outcome=forced exit=3 id=<drain id> joined=0`. ASCII `key=value` fields; a reader ignores
// fields it does not know. The Lambda parses it with this same module.

import type { DrainOutcome, DrainReport } from './report.js';

export const SUMMARY_PREFIX = 'fleet-drain v1';

/** Every outcome a report or summary line may carry; readers refuse anything else. */
export const DRAIN_OUTCOMES: ReadonlySet<string> = new Set<DrainOutcome>([
  'drained',
  'forced',
  'incomplete',
  'interrupted',
  'nothing',
  'error',
  'prepared',
]);

export interface DrainSummary {
  outcome: DrainOutcome;
  exitCode: number;
  id: string;
  joined: boolean;
}

/** Anything but letters, digits and `-` becomes `_`: the line stays ASCII and one token per field. */
/** As long as a drain id may be (DRAIN_PARAMETERS.drainId). */
const TOKEN_MAX_CHARS = 64;
const token = (text: string) => text.replace(/[^A-Za-z0-9-]/g, '_').slice(0, TOKEN_MAX_CHARS) || '-';

/** The summary line of a report, without its newline. */
export function formatSummary(report: DrainReport): string {
  return `${SUMMARY_PREFIX} outcome=${report.outcome} exit=${report.exitCode} id=${token(report.id)} joined=${report.joined ? 1 : 0}`;
}

const LINE =
  /^fleet-drain v1 outcome=([a-z]+) exit=(\d{1,3}) id=([A-Za-z0-9_-]{1,64}) joined=([01])(?: [^\n]*)?$/;

/** The summary in one line of text, or undefined when the line is not one. */
export function parseSummary(line: string): DrainSummary | undefined {
  const match = LINE.exec(line.trim());
  if (!match) return undefined;
  const [, outcome, exit, id, joined] = match;
  if (!DRAIN_OUTCOMES.has(outcome as string)) return undefined;
  return {
    outcome: outcome as DrainOutcome,
    exitCode: Number(exit),
    id: id as string,
    joined: joined === '1',
  };
}
