// The prepare and finally steps of a drain, each run once however many agents the drain takes.

import { canonicalJson } from '../policy/policy-fingerprint.js';
import type { StepReport } from '../report/report.js';
import { commandMayGoOn, commandTimeLeftMs, type DrainRun } from './drain-run.js';
import { runSteps } from './run-steps.js';

export type StepPhase = 'prepare' | 'finally';

/**
 * Runs a phase's steps but those an earlier agent of this drain ran. Steps are recognised by content, not
 * by index, so the record holds under a changed policy too; each record accounts for one step (a step may
 * be listed twice). A step that was running when that agent died did not complete: it runs again.
 */
export function runPhase(run: DrainRun, phase: StepPhase, reserveMs: number): Promise<StepReport[]> {
  const { options, stepsDone, markers, save, saveChange } = run;
  const keys = options.policy[phase].map((step) => canonicalJson(step));
  const done = stepsAlreadyDone(run, phase, keys);
  const countDone = () => countPrepareDone(run, phase, done);
  countDone();
  return runSteps(options.policy[phase], phase, options.log, {
    abort: options.abort,
    maxTimeoutMs: () => commandTimeLeftMs(run, reserveMs),
    mayGoOn: commandMayGoOn(run, reserveMs),
    skip: (index) => done[index] === true,
    onCreate: (index, path) => {
      markers.push({ path, key: keys[index] as string, phase });
      saveChange();
    },
    onDone: (index, report) => {
      stepsDone[phase].push({ key: keys[index] as string, report });
      done[index] = true;
      countDone();
      save();
    },
  });
}

/** For each step (by its key), whether an earlier agent of this drain ran it. */
function stepsAlreadyDone(run: DrainRun, phase: StepPhase, keys: readonly string[]): boolean[] {
  const earlier = run.stepsDone[phase].map((done) => done.key);
  return keys.map((key, index) => {
    const at = earlier.indexOf(key);
    if (at >= 0) {
      earlier.splice(at, 1);
      return true;
    }
    if (phase === 'prepare' && index < run.legacyPrepareDone) {
      // Recorded now, without a report (that agent kept none), so that a later successor skips it too.
      run.stepsDone.prepare.push({ key });
      return true;
    }
    return false;
  });
}

/** `prepareDone`, the count of leading prepare steps done, is what an older agent taking over reads. */
function countPrepareDone(run: DrainRun, phase: StepPhase, done: readonly boolean[]): void {
  if (phase !== 'prepare') return;
  const first = done.indexOf(false);
  run.state.prepareDone = first < 0 ? done.length : first;
}

/**
 * Every step the drain ran, this agent's and its predecessors' (but an earlier agent version's prepare
 * steps: it kept no report of them).
 */
export const stepReports = (run: DrainRun, phase: StepPhase): StepReport[] =>
  run.stepsDone[phase].flatMap((done) => (done.report ? [done.report] : []));
