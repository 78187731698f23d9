// The drain: take the drain id (or join/replay it), run prepare, escalate every target in parallel
// (honouring `after`), run finally, and build the one report.

import { setTimeout as sleep } from 'node:timers/promises';
import { DockerTarget } from './docker-target.js';
import { type DrainState, DrainStore, type TargetProgress } from './drain-state.js';
import { escalate } from './escalate.js';
import { EXIT } from './exit-codes.js';
import type { Logger } from './log.js';
import type { ResolvedPolicy, ResolvedTarget } from './policy.js';
import { type ProcReader, procReader } from './proc.js';
import { type Kill, ProcessTarget, type TrackedProcess } from './process-target.js';
import { type Protection, protectProcesses } from './protected-processes.js';
import {
  type DrainOutcome,
  type DrainReport,
  emptyReport,
  REPORT_VERSION,
  type StepReport,
  type TargetOutcome,
  type TargetReport,
} from './report.js';
import { describeResult, runCommand } from './run-command.js';
import { runSteps } from './run-steps.js';
import { finalStepMs } from './schedule.js';
import { SystemdTarget } from './systemd-target.js';
import type { DrainClock, DrainTarget } from './target.js';

export interface DrainOptions {
  id: string;
  policy: ResolvedPolicy;
  deadline?: Date;
  dryRun?: boolean;
  stateDir: string;
  abort: AbortSignal;
  log: Logger;
  proc?: ProcReader;
  kill?: Kill;
  /** How often a duplicate re-reads the state of the drain it joined. */
  joinPollMs?: number;
}

const OUTCOME_EXIT: Record<DrainOutcome, number> = {
  drained: EXIT.drained,
  nothing: EXIT.drained,
  forced: EXIT.forced,
  incomplete: EXIT.incomplete,
  interrupted: EXIT.interrupted,
  error: EXIT.internal,
};

/** The exit code a drain outcome maps to (DESIGN §3). */
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

function targetOutcome(
  target: DrainTarget,
  result: 'gone' | 'running' | 'interrupted' | 'skipped',
): TargetOutcome {
  if (result === 'skipped') return 'skipped';
  const processes = target.processes();
  const running = processes.some((process) => process.exitedAfterMs === null);
  if (target.error && (running || processes.length === 0)) return 'error';
  if (processes.length === 0) return 'nothing';
  if (running || result !== 'gone') return 'incomplete';
  return processes.some((process) => process.forced) ? 'forced' : 'drained';
}

export function createTarget(
  spec: ResolvedTarget,
  context: {
    proc: ProcReader;
    protection: Protection;
    clock: DrainClock;
    kill?: Kill;
    known?: TargetProgress;
  },
): DrainTarget {
  const { selector } = spec;
  if (selector.kind === 'systemd') return new SystemdTarget(spec.name, selector.unit, context.clock);
  if (selector.kind === 'docker') return new DockerTarget(spec.name, selector, context.clock);
  const known = (context.known?.processes ?? [])
    .filter((process) => process.startTime !== undefined)
    .map((process) => ({ ...process, matched: process.matched ?? true }) as TrackedProcess);
  return new ProcessTarget(
    spec.name,
    selector.match,
    selector.scope,
    { proc: context.proc, protection: context.protection, clock: context.clock, kill: context.kill, known },
    selector.stop ? 'command' : 'process',
  );
}

/** The least a prepare, stop or finally command gets, however close the deadline. */
const MIN_COMMAND_MS = 1_000;

const kindOf = (spec: ResolvedTarget): TargetReport['kind'] =>
  spec.selector.kind === 'process' ? (spec.selector.stop ? 'command' : 'process') : spec.selector.kind;

/** Runs the drain, or joins or replays the one with the same id. Never throws for a worker's behaviour. */
export async function drain(options: DrainOptions): Promise<DrainReport> {
  const proc = options.proc ?? procReader();
  const self = proc.stat(process.pid);
  const store = new DrainStore(options.stateDir, proc, { pid: process.pid, startTime: self?.startTime ?? 0 });
  if (options.dryRun) return run(options, proc, undefined, undefined);
  for (;;) {
    const acquired = store.acquire(options.id);
    if (acquired.kind === 'finished' && acquired.state.report) {
      options.log.log('info', 'drain already finished: replaying its report');
      return { ...acquired.state.report, joined: true };
    }
    if (acquired.kind === 'owner') {
      if (acquired.previous) {
        options.log.log('warn', 'resuming a drain whose agent died', {
          phase: acquired.previous.phase,
          resumedDrainId: acquired.previous.id,
        });
      }
      try {
        return await run(options, proc, store, acquired.previous);
      } finally {
        store.release();
      }
    }
    if (acquired.kind === 'running') {
      // The drain that holds the host may have another id (an adopted drain and a late lifecycle event for
      // the same instance): join it all the same, and report its result under our own id.
      const runningId = acquired.owner.id ?? options.id;
      options.log.log('info', 'a drain is already running: joining it', {
        ownerPid: acquired.owner.pid,
        ...(runningId !== options.id ? { joinedDrainId: runningId } : {}),
      });
      const joined = (report: DrainReport): DrainReport =>
        runningId === options.id
          ? { ...report, joined: true }
          : { ...report, id: options.id, joined: true, joinedDrainId: runningId };
      // Wait for its report; if its agent dies first, take over on the next turn of the loop.
      while (store.isAlive(acquired.owner)) {
        const state = store.read(runningId);
        if (state?.status === 'finished' && state.report) return joined(state.report);
        try {
          await sleep(options.joinPollMs ?? 100, undefined, { signal: options.abort });
        } catch {
          // Interrupted while joining: the owner keeps draining; report what we know.
          return interruptedJoin(options);
        }
      }
      const state = store.read(runningId);
      if (state?.status === 'finished' && state.report) return joined(state.report);
    }
  }
}

const interruptedJoin = (options: DrainOptions): DrainReport =>
  emptyReport(options.id, 'interrupted', EXIT.interrupted, { joined: true });

async function run(
  options: DrainOptions,
  proc: ProcReader,
  store: DrainStore | undefined,
  previous: DrainState | undefined,
): Promise<DrainReport> {
  const { policy, log, abort } = options;
  const startedAt = previous ? new Date(previous.startedAt) : new Date();
  const startMs = startedAt.getTime();
  const clock: DrainClock = () => Date.now() - startMs;
  const deadlineMs = options.deadline ? options.deadline.getTime() - startMs : undefined;
  // Commands (prepare, stop, finally) are bounded by the deadline too, leaving room for the final steps of
  // the schedules; each still gets a second at least.
  const leftMs = (reserveMs: number) =>
    deadlineMs === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(MIN_COMMAND_MS, deadlineMs - clock() - reserveMs);
  const longestFinalStepMs = Math.max(0, ...policy.targets.map((spec) => finalStepMs(spec.schedule.steps)));
  const protection = protectProcesses(proc);
  const state: DrainState = previous ?? {
    id: options.id,
    status: 'running',
    startedAt: startedAt.toISOString(),
    ...(options.deadline ? { deadline: options.deadline.toISOString() } : {}),
    prepareDone: 0,
    phase: 'prepare',
    targets: {},
  };
  // A state file that cannot be written (a full /run) must not stop the drain: log it and go on.
  let saveFailed = false;
  const save = () => {
    try {
      store?.write(state);
    } catch (error) {
      if (!saveFailed) log.log('error', 'cannot write the drain state', { error: (error as Error).message });
      saveFailed = true;
    }
  };
  save();

  let prepare: StepReport[] = [];
  if (!options.dryRun) {
    prepare = await runSteps(policy.prepare, 'prepare', log, {
      maxTimeoutMs: () => leftMs(longestFinalStepMs),
      abort,
      from: state.prepareDone,
      onDone: (index) => {
        state.prepareDone = index + 1;
        save();
      },
    });
  }
  state.phase = 'targets';
  save();

  // Each target starts once, after the targets it names in `after` (the policy has no cycles).
  const done = new Map<string, Promise<TargetReport>>();
  const byName = new Map(policy.targets.map((spec) => [spec.name, spec]));
  const drainOnce = (spec: ResolvedTarget): Promise<TargetReport> => {
    let promise = done.get(spec.name);
    if (!promise) {
      // A target that throws (an unexpected failure on the host) ends as `error`; it never ends the drain
      // while the other targets are still signalling.
      promise = drainTarget(spec).catch((error: unknown): TargetReport => {
        const message = error instanceof Error ? error.message : String(error);
        log.log('error', 'target failed', { target: spec.name, error: message });
        return {
          name: spec.name,
          kind: kindOf(spec),
          outcome: 'error',
          processes: [],
          error: message.slice(0, 500),
        };
      });
      done.set(spec.name, promise);
    }
    return promise;
  };
  const drainTarget = async (spec: ResolvedTarget): Promise<TargetReport> => {
    await Promise.all(spec.after.map((name) => drainOnce(byName.get(name) as ResolvedTarget)));
    const known = state.targets[spec.name];
    const target = createTarget(spec, { proc, protection, clock, kill: options.kill, known });
    const targetLog = log.with({ target: spec.name });
    const report = (result: Parameters<typeof targetOutcome>[1]): TargetReport => {
      const outcome = targetOutcome(target, result);
      const entry: TargetReport = {
        name: spec.name,
        kind: target.kind,
        outcome,
        processes: target.processes(),
      };
      if (target.error) entry.error = target.error;
      targetLog.log(outcome === 'incomplete' || outcome === 'error' ? 'warn' : 'info', 'target done', {
        outcome,
      });
      return entry;
    };
    if (abort.aborted) return report('skipped');
    await target.discover(options.dryRun);
    targetLog.log('info', 'target found', {
      processes: target.processes().length,
      schedule: spec.schedule.text,
    });
    if (options.dryRun || target.processes().length === 0) return report(options.dryRun ? 'skipped' : 'gone');
    const progress = (step: number, stepStartedMs: number) => {
      const processes = target instanceof ProcessTarget ? target.all() : target.processes();
      state.targets[spec.name] = { step, stepStartedMs, processes };
      save();
    };
    if (spec.selector.kind === 'process' && spec.selector.stop && !known) {
      progress(0, clock());
      const stopTimeoutMs = Math.min(spec.selector.stop.timeoutMs, leftMs(finalStepMs(spec.schedule.steps)));
      const result = await runCommand(spec.selector.stop.argv, stopTimeoutMs, {
        signal: abort,
      });
      const problem = describeResult(result);
      targetLog.log(
        problem ? 'warn' : 'info',
        problem ? `stop command failed: ${problem}` : 'stop command done',
      );
    }
    const result = await escalate(target, spec.schedule.steps, {
      clock,
      abort,
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      ...(known ? { resume: { step: known.step, stepStartedMs: known.stepStartedMs } } : {}),
      onStep: (step, stepStartedMs) => {
        const signal = spec.schedule.steps[step];
        if (signal && 'signal' in signal)
          targetLog.log('info', 'signal', { signal: signal.signal.name, atMs: clock() });
        progress(step, stepStartedMs);
      },
      onSignalled: progress,
    });
    return report(result);
  };
  const targets = await Promise.all(policy.targets.map(drainOnce));

  state.phase = 'finally';
  // Worth a write only when there is a finally step a successor could resume at.
  if (policy.finally.length > 0) save();
  const final =
    options.dryRun || abort.aborted
      ? []
      : await runSteps(policy.finally, 'finally', log, { maxTimeoutMs: () => leftMs(0) });
  const outcome = options.dryRun ? 'nothing' : overallOutcome(targets, abort.aborted);
  const finishedAt = new Date();
  const report: DrainReport = {
    version: REPORT_VERSION,
    id: options.id,
    outcome,
    exitCode: exitCodeFor(outcome),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startMs,
    joined: false,
    ...(options.deadline ? { deadline: options.deadline.toISOString() } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    prepare,
    targets,
    finally: final,
  };
  state.status = 'finished';
  state.report = report;
  state.targets = {}; // the report holds every process now; a finished drain is only replayed
  save();
  return report;
}
