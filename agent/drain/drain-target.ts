// Draining the targets: each once, after the targets it names in `after`, all others in parallel. A target
// runs its stop command (if any) and then its schedule, its progress saved before every step.

import { describeError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { describeResult, runCommand } from '../host/run-command.js';
import { SIGKILL } from '../host/signals.js';
import type { ResolvedTarget } from '../policy/policy.js';
import { finalStepMs } from '../policy/schedule.js';
import type { TargetReport } from '../report/report.js';
import { identity, ProcessTarget } from '../targets/process-target.js';
import type { DrainTarget } from '../targets/target.js';
import { createTarget } from './create-target.js';
import { commandMayGoOn, commandTimeLeftMs, type DrainRun } from './drain-run.js';
import type { TargetProgress } from './drain-state.js';
import { escalate } from './escalate.js';
import { type TargetResult, targetOutcome } from './outcome.js';

/** A target's error is cut to this many characters: the report must fit in SSM's stdout. */
export const TARGET_ERROR_MAX_CHARS = 500;

/** One target being drained. */
interface TargetRun {
  run: DrainRun;
  spec: ResolvedTarget;
  target: DrainTarget;
  log: Logger;
  /** What an earlier agent of this drain saved about the target. */
  known: TargetProgress | undefined;
  /** Saved before the stop command runs, never cleared (see resumeState). */
  stopped: boolean;
  /** Saved before the first graceful signal, never cleared (see resumeState). */
  graceful: boolean;
}

/** Drains every target of the policy; the reports come in the policy's order. */
export function drainTargets(run: DrainRun): Promise<TargetReport[]> {
  const { targets } = run.options.policy;
  const started = new Map<string, Promise<TargetReport>>();
  const byName = new Map(targets.map((spec) => [spec.name, spec]));
  const drainOnce = (spec: ResolvedTarget): Promise<TargetReport> => {
    let promise = started.get(spec.name);
    if (!promise) {
      promise = (async () => {
        await Promise.all(spec.after.map((name) => drainOnce(byName.get(name) as ResolvedTarget)));
        return drainTarget(run, spec);
      })().catch((error: unknown) => failedTarget(run, spec, error));
      started.set(spec.name, promise);
    }
    return promise;
  };
  return Promise.all(targets.map(drainOnce));
}

/** A target that throws (an unexpected failure on the host) ends as `error`, never the whole drain. */
function failedTarget(run: DrainRun, spec: ResolvedTarget, error: unknown): TargetReport {
  run.options.log.log('error', 'target failed', { target: spec.name, error: describeError(error) });
  const { selector } = spec;
  const kind = selector.kind === 'process' ? (selector.stop ? 'command' : 'process') : selector.kind;
  return {
    name: spec.name,
    kind,
    outcome: 'error',
    processes: [],
    error: errorMessage(error).slice(0, TARGET_ERROR_MAX_CHARS),
  };
}

async function drainTarget(run: DrainRun, spec: ResolvedTarget): Promise<TargetReport> {
  const { abort, dryRun } = run.options;
  const target = openTarget(run, spec);
  if (abort.aborted) return targetDone(target, 'skipped');
  await target.target.discover({ readOnly: dryRun === true });
  target.log.log('info', 'target found', {
    processes: target.target.processes().length,
    schedule: spec.schedule.text,
  });
  if (dryRun) return targetDone(target, 'skipped');
  if (target.target.processes().length === 0) return targetDone(target, 'gone');
  await runStopCommand(target);
  return targetDone(target, await runSchedule(target));
}

function openTarget(run: DrainRun, spec: ResolvedTarget): TargetRun {
  const { state, restartPolicies } = run;
  const known = state.targets[spec.name];
  if (spec.selector.kind === 'docker') restartPolicies[spec.name] ??= {};
  const target = createTarget(spec, {
    proc: run.proc,
    protection: run.protection,
    clock: run.clock,
    kill: run.options.kill,
    known,
    spared: run.spared,
    restarts: { byId: restartPolicies[spec.name] ?? {}, save: run.saveChange },
    dropIns: run.dropIns,
  });
  const log = run.options.log.with({ target: spec.name });
  return {
    run,
    spec,
    target,
    log,
    known,
    stopped: known?.stopped === true,
    graceful: known?.graceful === true,
  };
}

/** Saves where the target's schedule is, with every process it tracks. */
function saveProgress(target: TargetRun, step: number, stepStartedMs: number): void {
  const { run, spec, stopped, graceful } = target;
  const processes = target.target instanceof ProcessTarget ? target.target.all() : target.target.processes();
  run.state.targets[spec.name] = {
    step,
    stepStartedMs,
    processes,
    ...(stopped ? { stopped } : {}),
    ...(graceful ? { graceful } : {}),
  };
  run.save();
}

/**
 * The stop command is the target's graceful signal: never twice. An earlier agent under this policy saved
 * progress before running it; across a policy change, one process spared a graceful signal is enough to
 * hold it back (the rest of the schedule, and KILL, still reach the others).
 */
async function runStopCommand(target: TargetRun): Promise<void> {
  const { run, spec, known } = target;
  const { selector } = spec;
  if (selector.kind !== 'process' || !selector.stop) return;
  const tracked = target.target instanceof ProcessTarget ? target.target.all() : [];
  const stopSent =
    known !== undefined ||
    tracked.some((process) => run.spared.has(identity(process.pid, process.startTime)));
  if (stopSent) return;
  target.stopped = true;
  saveProgress(target, 0, run.clock());
  const timeoutMs = Math.min(
    selector.stop.timeoutMs,
    commandTimeLeftMs(run, finalStepMs(spec.schedule.steps)),
  );
  const result = await runCommand(selector.stop.argv, timeoutMs, {
    signal: run.options.abort,
    mayGoOn: commandMayGoOn(run, finalStepMs(spec.schedule.steps)),
  });
  const problem = describeResult(result);
  target.log.log(
    problem ? 'warn' : 'info',
    problem ? `stop command failed: ${problem}` : 'stop command done',
  );
}

function runSchedule(target: TargetRun): Promise<TargetResult> {
  const { run, spec, known } = target;
  const { steps } = spec.schedule;
  return escalate(target.target, steps, {
    clock: run.clock,
    abort: run.options.abort,
    deadlineMs: run.deadlineMs,
    ...(known ? { resume: { step: known.step, stepStartedMs: known.stepStartedMs } } : {}),
    onStep: (step, stepStartedMs) => {
      const scheduled = steps[step];
      if (scheduled && 'signal' in scheduled) {
        target.log.log('info', 'signal', { signal: scheduled.signal.name, atMs: run.clock() });
        if (scheduled.signal.number !== SIGKILL.number) target.graceful = true;
      }
      saveProgress(target, step, stepStartedMs);
    },
    onSignalled: (step, stepStartedMs) => saveProgress(target, step, stepStartedMs),
  });
}

function targetDone({ spec, target, log }: TargetRun, result: TargetResult): TargetReport {
  const outcome = targetOutcome(target, result);
  const report: TargetReport = { name: spec.name, kind: target.kind, outcome, processes: target.processes() };
  if (target.error) report.error = target.error;
  log.log(outcome === 'incomplete' || outcome === 'error' ? 'warn' : 'info', 'target done', {
    outcome,
    ...(target.error ? { error: target.error } : {}),
  });
  return report;
}
