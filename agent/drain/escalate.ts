// Runs one target's schedule: signals in order, waits that end as soon as the target is gone, every wait
// clipped so that the final step (the last signal and its wait) still fits before the deadline.

import { setTimeout as sleep } from 'node:timers/promises';
import { finalStepMs, type ScheduleStep } from '../policy/schedule.js';
import type { DrainClock, DrainTarget } from '../targets/target.js';

export type EscalationResult = 'gone' | 'running' | 'interrupted';

export interface EscalationOptions {
  clock: DrainClock;
  /**
   * Drain-clock milliseconds by which the drain must end, or undefined for none. Asked at every poll: a
   * drain that joins with an earlier deadline moves it while a wait runs.
   */
  deadlineMs?: () => number | undefined;
  abort: AbortSignal;
  /** Where to resume: the step index and when that step began (after an earlier agent died). */
  resume?: { step: number; stepStartedMs: number };
  /** Called before each step starts, signals included (persist it: a signal is never sent twice). */
  onStep?: (step: number, stepStartedMs: number) => void;
  /** Called once a signal step has been sent, so its record survives the agent. */
  onSignalled?: (step: number, stepStartedMs: number) => void;
}

/** The drain-clock time at which a wait that begins at `startMs` must end. */
export function waitEndMs(
  steps: readonly ScheduleStep[],
  index: number,
  startMs: number,
  deadlineMs: number | undefined,
): number {
  const step = steps[index];
  const natural = startMs + (step && 'waitMs' in step ? step.waitMs : 0);
  if (deadlineMs === undefined || index === steps.length - 1) return natural;
  return Math.max(startMs, Math.min(natural, deadlineMs - finalStepMs(steps)));
}

/** Waits until the target is gone, `endMs()` (asked at every poll) passes, or the abort signal fires. */
export async function waitUntilGone(
  target: DrainTarget,
  endMs: () => number,
  clock: DrainClock,
  abort: AbortSignal,
): Promise<EscalationResult | 'timeout'> {
  for (;;) {
    if (abort.aborted) return 'interrupted';
    if (!(await target.isRunning())) return 'gone';
    const left = endMs() - clock();
    if (left <= 0) return 'timeout';
    try {
      await sleep(Math.min(target.pollIntervalMs, left), undefined, { signal: abort });
    } catch {
      return 'interrupted';
    }
  }
}

export async function escalate(
  target: DrainTarget,
  steps: readonly ScheduleStep[],
  options: EscalationOptions,
): Promise<EscalationResult> {
  const { clock, abort, deadlineMs } = options;
  const first = options.resume?.step ?? 0;
  for (let index = first; index < steps.length; index++) {
    const step = steps[index] as ScheduleStep;
    if (abort.aborted) return 'interrupted';
    const resumed = index === first && options.resume !== undefined;
    const startedMs = resumed ? (options.resume?.stepStartedMs ?? clock()) : clock();
    if ('signal' in step) {
      if (resumed) continue; // An earlier agent recorded this signal as sent (or about to be): never twice.
      if (!(await target.isRunning())) return 'gone';
      // The check above may take a while (a supervisor CLI): an interruption meanwhile sends nothing more.
      if (abort.aborted) return 'interrupted';
      options.onStep?.(index, startedMs);
      await target.signal(step.signal);
      options.onSignalled?.(index, startedMs);
      continue;
    }
    if (!resumed) options.onStep?.(index, startedMs);
    const endMs = () => waitEndMs(steps, index, startedMs, deadlineMs?.());
    const result = await waitUntilGone(target, endMs, clock, abort);
    if (result !== 'timeout') return result;
  }
  return (await target.isRunning()) ? 'running' : 'gone';
}
