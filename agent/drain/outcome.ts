// A target's outcome from what became of its processes, and the drain's from its targets'.

import { EXIT } from '../report/exit-codes.js';
import type { DrainOutcome, TargetOutcome, TargetReport } from '../report/report.js';
import type { DrainTarget } from '../targets/target.js';
import type { EscalationResult } from './escalate.js';

const OUTCOME_EXIT: Record<DrainOutcome, number> = {
  drained: EXIT.drained,
  nothing: EXIT.drained,
  forced: EXIT.forced,
  incomplete: EXIT.incomplete,
  interrupted: EXIT.interrupted,
  error: EXIT.internal,
  prepared: EXIT.drained,
};

/** The exit code a drain outcome maps to. */
export const exitCodeFor = (outcome: DrainOutcome): number => OUTCOME_EXIT[outcome];

/** The overall outcome: the worst of the targets'. */
export function overallOutcome(targets: readonly TargetReport[], interrupted: boolean): DrainOutcome {
  if (interrupted) return 'interrupted';
  const outcomes = new Set(targets.map((target) => target.outcome));
  if (outcomes.has('incomplete') || outcomes.has('error')) return 'incomplete';
  if (outcomes.has('forced')) return 'forced';
  if (outcomes.has('drained')) return 'drained';
  return 'nothing';
}

/** How a target's drain ended: its escalation's result, or `skipped` when it never started. */
export type TargetResult = EscalationResult | 'skipped';

export function targetOutcome(target: DrainTarget, result: TargetResult): TargetOutcome {
  if (result === 'skipped') return 'skipped';
  const processes = target.processes();
  const running = processes.some((process) => process.exitedAfterMs === null);
  if (target.error && (running || processes.length === 0)) return 'error';
  if (processes.length === 0) return 'nothing';
  if (running || result !== 'gone') return 'incomplete';
  return processes.some((process) => process.forced) ? 'forced' : 'drained';
}
