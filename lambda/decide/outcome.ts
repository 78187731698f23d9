// Maps what SSM and the agent said about a finished drain command to the drain's outcome, and the outcome
// to the lifecycle action result. Pure.

import type { DrainReport } from '../../agent/report/report';
import type { DrainSummary } from '../../agent/report/summary-line';
import type { ResultPolicy } from '../config';
import { parseDrainOutput } from './parse-report';

/** Outcome of a drain as reported in `Fleet Drain Finished`. */
export type Outcome =
  | 'drained'
  | 'forced'
  | 'incomplete'
  | 'failed'
  | 'unreachable'
  | 'skipped'
  | 'expired'
  | 'prepared';

export type LifecycleActionResult = 'CONTINUE' | 'ABANDON';

/** What GetCommandInvocation said. `responseCode` is -1 when the script never started. */
export interface InvocationResult {
  status: string;
  statusDetails: string | undefined;
  responseCode: number | undefined;
  stdout: string | undefined;
  stderr: string | undefined;
  /** When the invocation ended (ExecutionEndDateTime), if SSM says so. */
  endedMs?: number | undefined;
  /** When it started on the host (ExecutionStartDateTime), if SSM says so. */
  startedMs?: number | undefined;
  /** The command's Comment: it names the drain (drain-command.ts). */
  comment?: string | undefined;
  documentName?: string | undefined;
}

export interface Decision {
  outcome: Outcome;
  /** The agent's report when one was found and belongs to this drain. */
  report: DrainReport | undefined;
  /** The agent's summary line when one was found and belongs to this drain. */
  summary?: DrainSummary | undefined;
  /** SSM cut the command's output: the outcome came from the summary line, the report is partial or missing. */
  truncated?: boolean;
  /** One line on how the outcome was chosen, for logs and the event. */
  reason: string;
}

// Exit codes of agent/report/exit-codes.ts (imported as values would pull agent code into the bundle; they are a
// published contract, asserted against EXIT in the tests). The document exits 0 for every clear host
// (drained, nothing, forced), so that Run Command shows Success for them; a command with exit 0 and no
// report is therefore not known to have drained, and is `failed` (below). 3 is what documents of earlier
// versions exited with after a forced drain.
const EXIT_CODE_OUTCOMES: ReadonlyMap<number, Outcome> = new Map<number, Outcome>([
  [3, 'forced'],
  [2, 'incomplete'],
  [4, 'incomplete'],
  [64, 'failed'],
  [70, 'failed'],
  [78, 'failed'],
]);

/** `prepared`: a prepare drain (`action` `prepare`) ran the policy's prepare steps only; it completes nothing. */
const REPORT_OUTCOMES: Record<DrainReport['outcome'], Outcome> = {
  drained: 'drained',
  nothing: 'drained',
  forced: 'forced',
  incomplete: 'incomplete',
  // TERM/INT stopped the agent mid-drain (a cancel, SSM's execution timeout): work may still be running.
  interrupted: 'incomplete',
  error: 'failed',
  prepared: 'prepared',
};

/** The outcome of a terminal invocation of the drain `drainId`. */
export function decideOutcome(invocation: InvocationResult, drainId: string): Decision {
  const output = parseDrainOutput(invocation.stdout);
  const report = output.report?.id === drainId ? output.report : undefined;
  const summary = output.summary?.id === drainId ? output.summary : undefined;
  const found = {
    report,
    ...(summary !== undefined ? { summary } : {}),
    ...(output.truncated ? { truncated: true } : {}),
  };
  if (report !== undefined) {
    return { outcome: REPORT_OUTCOMES[report.outcome], ...found, reason: `agent reported ${report.outcome}` };
  }
  if (summary !== undefined) {
    return {
      outcome: REPORT_OUTCOMES[summary.outcome],
      ...found,
      reason: `agent reported ${summary.outcome} (summary line; the report was ${output.truncated ? 'cut off' : 'unreadable'})`,
    };
  }
  const details = invocation.statusDetails ?? '';
  const neverRan = invocation.responseCode === undefined || invocation.responseCode === -1;
  if (
    invocation.status === 'Undeliverable' ||
    details === 'Undeliverable' ||
    details === 'Delivery Timed Out' ||
    (invocation.status === 'TimedOut' && neverRan && details !== 'Execution Timed Out')
  ) {
    return {
      outcome: 'unreachable',
      report: undefined,
      reason: `command not delivered (${details || invocation.status})`,
    };
  }
  const fromExit = neverRan ? undefined : EXIT_CODE_OUTCOMES.get(invocation.responseCode as number);
  if (fromExit !== undefined) {
    return {
      outcome: fromExit,
      report: undefined,
      reason: `no report; exit code ${invocation.responseCode}`,
    };
  }
  if (invocation.status === 'TimedOut' || invocation.status === 'Cancelled') {
    return { outcome: 'incomplete', report: undefined, reason: `command ${invocation.status} (${details})` };
  }
  if (invocation.status === 'Success') {
    return {
      outcome: 'failed',
      report: undefined,
      ...(output.truncated ? { truncated: true } : {}),
      reason: 'command Success but its output holds no summary line or report of this drain',
    };
  }
  return {
    outcome: 'failed',
    report: undefined,
    reason: `command ${invocation.status} (${details}), exit code ${invocation.responseCode ?? 'none'}`,
  };
}

/**
 * Whether a decision shows that the drain itself is over: the agent reported how its drain ended (a second
 * command of the same drain joins the first and reports the same). Without that (no report, a joiner that
 * was interrupted, an agent error) another command of the drain may still be draining the host.
 */
export function drainIsOver(decision: Decision): boolean {
  const outcome = decision.report?.outcome ?? decision.summary?.outcome;
  return (
    outcome === 'drained' ||
    outcome === 'nothing' ||
    outcome === 'forced' ||
    outcome === 'incomplete' ||
    outcome === 'prepared'
  );
}

/** The lifecycle action result for an outcome under the configured policy. */
export function decideResult(outcome: Outcome, policy: ResultPolicy): LifecycleActionResult {
  if (policy === 'ABANDON_ON_FAILURE' && (outcome === 'incomplete' || outcome === 'failed')) return 'ABANDON';
  return 'CONTINUE';
}
