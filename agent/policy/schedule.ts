// Drain schedules in the style of `start-stop-daemon --retry`: `TERM/30s/KILL/5s`.
// A signal item is sent to the target; a duration item waits that long, but ends as soon as the target is gone.
// Signals are names (TERM, SIGTERM) or numbers; a bare number right after a signal is a wait in seconds.

import { parseSignal, SIGKILL, type Signal } from '../host/signals.js';
import { formatDuration, parseDuration } from './duration.js';

/** How long to wait for the kernel to reap the processes after the final KILL when the schedule says nothing. */
export const FINAL_KILL_WAIT_MS = 5_000;

/** The longest single wait a schedule may hold: SSM's execution timeout for a shell script is 48 h. */
export const MAX_WAIT_MS = 48 * 3_600_000;

export type ScheduleStep = { signal: Signal } | { waitMs: number };

/** A schedule, normalised so that it always ends with KILL followed by a wait. */
export interface Schedule {
  steps: ScheduleStep[];
  /** The normalised schedule in the policy's notation, e.g. `TERM/30s/KILL/5s`. */
  text: string;
}

export class ScheduleError extends Error {}

/** Parses a schedule, adding the implied final KILL (and its wait). Throws ScheduleError naming the bad item. */
export function parseSchedule(text: string): Schedule {
  const items = text.split('/');
  refuseLoneNumber(items);
  const steps: ScheduleStep[] = [];
  for (const [index, raw] of items.entries()) {
    const item = raw.trim();
    if (item === '')
      throw new ScheduleError(`item ${index + 1} is empty (items are separated by a single "/")`);
    if (item.toLowerCase() === 'forever') {
      throw new ScheduleError('"forever" is not supported: a drain must end; write a long wait such as 2h');
    }
    const previous = steps.at(-1);
    // A bare number is a duration where a wait is due (after a signal) and a signal elsewhere.
    const waitDue = /^\d+$/.test(item) && ((previous && 'signal' in previous) || items.length === 1);
    const signal = waitDue ? undefined : parseSignal(item);
    if (signal) {
      if (previous && 'signal' in previous && previous.signal.number === SIGKILL.number) {
        throw new ScheduleError(`"${item}" follows KILL: nothing can be signalled after KILL`);
      }
      steps.push({ signal });
      continue;
    }
    const waitMs = parseDuration(item);
    if (waitMs === undefined) {
      throw new ScheduleError(
        `"${item}" is neither a signal (TERM, SIGTERM, 15) nor a duration (30, 30s, 10m, 2h, 500ms)`,
      );
    }
    if (waitMs > MAX_WAIT_MS) throw new ScheduleError(`"${item}" is longer than the 48h a drain can last`);
    if (previous && 'waitMs' in previous) {
      throw new ScheduleError(`"${item}" follows another duration: put a signal between two waits`);
    }
    if (
      previous &&
      'signal' in previous &&
      previous.signal.number === SIGKILL.number &&
      index !== items.length - 1
    ) {
      throw new ScheduleError(`"${item}" after KILL must be the last item`);
    }
    steps.push({ waitMs });
  }
  // As start-stop-daemon: a lone duration d means TERM/d/KILL/d.
  const only = steps.length === 1 ? steps[0] : undefined;
  if (only && 'waitMs' in only)
    steps.splice(0, 1, { signal: parseSignal('TERM') as Signal }, only, { signal: SIGKILL }, only);
  const last = steps.at(-1);
  const hasKill = steps.some((step) => 'signal' in step && step.signal.number === SIGKILL.number);
  if (!hasKill) {
    if (last && 'signal' in last) {
      throw new ScheduleError(
        `"${last.signal.name}" at the end needs a wait before the implied KILL, e.g. ${last.signal.name}/30s`,
      );
    }
    steps.push({ signal: SIGKILL });
  }
  if (!('waitMs' in (steps.at(-1) as ScheduleStep))) steps.push({ waitMs: FINAL_KILL_WAIT_MS });
  return { steps, text: formatSchedule(steps) };
}

/** `9` alone reads as "signal 9" to many, but start-stop-daemon takes it as TERM/9s/KILL/9s: say which. */
function refuseLoneNumber(items: readonly string[]): void {
  const lone = items.length === 1 ? (items[0] as string).trim() : '';
  if (!/^\d+$/.test(lone)) return;
  throw new ScheduleError(
    `"${lone}" alone is ambiguous: write ${lone}s for TERM/${lone}s/KILL/${lone}s, or a signal with a wait such as ${parseSignal(lone)?.name ?? 'TERM'}/5s`,
  );
}

/** The schedule in the policy's notation. */
export function formatSchedule(steps: readonly ScheduleStep[]): string {
  return steps.map((step) => ('signal' in step ? step.signal.name : formatDuration(step.waitMs))).join('/');
}

/** Milliseconds the final step (the last signal and the wait after it) needs: what the deadline must leave. */
export function finalStepMs(steps: readonly ScheduleStep[]): number {
  const last = steps.at(-1);
  return last && 'waitMs' in last ? last.waitMs : 0;
}
