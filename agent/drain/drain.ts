// The drain: take the drain id (or join/replay it), run prepare, escalate every target in parallel
// (honouring `after`), run finally, and build the one report.

import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { type ProcReader, procReader } from '../host/proc.js';
import { describeResult, runCommand } from '../host/run-command.js';
import { SIGKILL } from '../host/signals.js';
import type { ResolvedPolicy, ResolvedTarget } from '../policy/policy.js';
import { canonicalJson, policyFingerprint } from '../policy/policy-fingerprint.js';
import { finalStepMs } from '../policy/schedule.js';
import { EXIT } from '../report/exit-codes.js';
import {
  type DrainOutcome,
  type DrainReport,
  emptyReport,
  REPORT_VERSION,
  type StepReport,
  type TargetOutcome,
  type TargetReport,
} from '../report/report.js';
import { DockerTarget, type RestartPolicies, restoreRestartPolicies } from '../targets/docker-target.js';
import { identity, type Kill, ProcessTarget, type TrackedProcess } from '../targets/process-target.js';
import { type Protection, protectProcesses } from '../targets/protected-processes.js';
import { type DropIns, SystemdTarget } from '../targets/systemd-target.js';
import type { DrainClock, DrainTarget } from '../targets/target.js';
import { type DrainState, DrainStore, type TargetProgress } from './drain-state.js';
import { escalate } from './escalate.js';
import { runSteps } from './run-steps.js';

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
  /**
   * Called once this process owns the drain, before it changes anything on the host: starts the guardian
   * that undoes those changes if this process is killed (guardian.ts).
   */
  startGuardian?: () => void;
}

const OUTCOME_EXIT: Record<DrainOutcome, number> = {
  drained: EXIT.drained,
  nothing: EXIT.drained,
  forced: EXIT.forced,
  incomplete: EXIT.incomplete,
  interrupted: EXIT.interrupted,
  error: EXIT.internal,
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
    /** What got a graceful signal under an earlier policy of the drain (DrainState.spared). */
    spared?: ReadonlySet<string>;
    /** Where a docker target records the restart policies it turns off. */
    restarts?: RestartPolicies;
    /** Where a systemd target records the drop-ins it writes. */
    dropIns?: DropIns;
  },
): DrainTarget {
  const { selector } = spec;
  const { clock, spared } = context;
  if (selector.kind === 'systemd')
    return new SystemdTarget(spec.name, selector.unit, clock, spared, context.dropIns);
  if (selector.kind === 'docker')
    return new DockerTarget(spec.name, selector, clock, { spared, restarts: context.restarts });
  const known = (context.known?.processes ?? [])
    .filter((process) => process.startTime !== undefined)
    .map((process) => ({ ...process, matched: process.matched ?? true }) as TrackedProcess);
  return new ProcessTarget(
    spec.name,
    selector.match,
    selector.scope,
    { proc: context.proc, protection: context.protection, clock, kill: context.kill, known, spared },
    selector.stop ? 'command' : 'process',
  );
}

/**
 * The state a resumed drain goes on from. Under the same policy: all of it, each schedule at its step.
 * Under another policy (changed by the user, and the drain sent again with it) a saved step index names
 * another step of another schedule, so none is replayed: every schedule starts again from its beginning,
 * bounded by the deadline as before. Starting over is safe but for one thing: a second graceful signal,
 * which many workers take as "abort now". So whatever got a graceful signal (or a stop command) under the
 * earlier policy is `spared`: it gets no graceful signal again, only the final KILL if it is still running
 * when its new schedule gets there. An agent may die after a signal went out and before its record did: so
 * a target flagged `graceful` or `stopped` (saved before the first graceful signal or the stop command) has
 * every process, unit or container it lists spared. Prepare and finally steps need nothing here: they are
 * recorded by content.
 *
 * A state written by an earlier agent version names no policy. That agent resumed whatever it found, so the
 * state is taken as written under the current policy (what it assumed) rather than thrown away, which would
 * run its stop commands a second time.
 */
function resumeState(previous: DrainState, fingerprint: string, log: Logger): DrainState {
  if (previous.policy === undefined) {
    log.log('info', 'the drain state names no policy (an earlier agent version): taking it as this one');
    return { ...previous, policy: fingerprint };
  }
  if (previous.policy === fingerprint) return previous;
  const spared = new Set(previous.spared);
  for (const progress of Object.values(previous.targets)) {
    const signalled = progress.stopped === true || progress.graceful === true;
    for (const process of progress.processes) {
      if (!signalled && process.signals.every(([name]) => name === SIGKILL.name)) continue;
      // Processes by identity; units and containers (no start time) by name or id.
      const key =
        process.startTime !== undefined ? identity(process.pid, process.startTime) : process.command;
      if (key) spared.add(key);
    }
  }
  log.log('warn', 'the policy changed since this drain began: its schedules start again from the beginning', {
    previousPolicy: previous.policy ?? null,
    policy: fingerprint,
    spared: spared.size,
  });
  return { ...previous, policy: fingerprint, targets: {}, spared: [...spared] };
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
      options.startGuardian?.();
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
  const fingerprint = policyFingerprint(policy);
  const state: DrainState = previous
    ? resumeState(previous, fingerprint, log)
    : {
        id: options.id,
        status: 'running',
        startedAt: startedAt.toISOString(),
        ...(options.deadline ? { deadline: options.deadline.toISOString() } : {}),
        policy: fingerprint,
        prepareDone: 0,
        phase: 'prepare',
        targets: {},
      };
  // An earlier agent version counted the prepare steps it ran, in order, and recorded no finally step.
  const legacyPrepareDone = state.stepsDone === undefined ? (state.prepareDone ?? 0) : 0;
  state.stepsDone ??= { prepare: [], finally: [] };
  state.restartPolicies ??= {};
  state.dropIns ??= [];
  state.markers ??= [];
  const { stepsDone, restartPolicies, markers } = state;
  const dropIns: DropIns = { paths: state.dropIns, save: () => save() };
  if (state.restored) {
    log.log('warn', 'this drain was undone after its agent was killed: going on, its changes made again', {
      restoredAt: state.restored.at,
    });
  }
  const spared = new Set(state.spared);
  // A state file that cannot be written (a full /run) must not stop the drain: log it and go on.
  let saveFailed = false;
  const save = () => {
    try {
      store?.write(state);
    } catch (error) {
      if (!saveFailed) log.log('error', 'cannot write the drain state', { error: errorMessage(error) });
      saveFailed = true;
    }
  };
  save();

  // Runs a phase's steps but those an earlier agent of this drain ran. Steps are recognised by content, not
  // by index, so that the record holds under a changed policy too; each record accounts for one step (a step
  // may be listed twice). A step that was running when that agent died did not complete: it runs again.
  // `prepareDone` (the steps done, in order, that an older agent taking the drain over skips) is kept too.
  const runPhase = (phase: 'prepare' | 'finally', maxTimeoutMs: () => number) => {
    const keys = policy[phase].map((step) => canonicalJson(step));
    const earlier = stepsDone[phase].map((done) => done.key);
    const done = keys.map((key, index) => {
      const at = earlier.indexOf(key);
      if (at >= 0) earlier.splice(at, 1);
      else if (phase === 'prepare' && index < legacyPrepareDone) {
        // Recorded now, without a report (that agent kept none), so that a later successor skips it too.
        stepsDone.prepare.push({ key });
        return true;
      }
      return at >= 0;
    });
    const countDone = () => {
      if (phase !== 'prepare') return;
      const first = done.indexOf(false);
      state.prepareDone = first < 0 ? done.length : first;
    };
    countDone();
    return runSteps(policy[phase], phase, log, {
      abort,
      maxTimeoutMs,
      skip: (index) => done[index] === true,
      onCreate: (index, path) => {
        markers.push({ path, key: keys[index] as string, phase });
        save();
      },
      onDone: (index, report) => {
        stepsDone[phase].push({ key: keys[index] as string, report });
        done[index] = true;
        countDone();
        save();
      },
    });
  };
  // The report shows every step the drain ran, this agent's and its predecessors' (an earlier agent
  // version's prepare steps excepted: it kept no report of them).
  const stepReports = (phase: 'prepare' | 'finally'): StepReport[] =>
    stepsDone[phase].flatMap((done) => (done.report ? [done.report] : []));

  if (!options.dryRun) await runPhase('prepare', () => leftMs(longestFinalStepMs));
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
        const message = errorMessage(error);
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
    if (spec.selector.kind === 'docker') restartPolicies[spec.name] ??= {};
    const target = createTarget(spec, {
      proc,
      protection,
      clock,
      kill: options.kill,
      known,
      spared,
      restarts: { byId: restartPolicies[spec.name] ?? {}, save },
      dropIns,
    });
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
    // Both flags are saved before what they record is done, and never cleared (see resumeState).
    let stopped = known?.stopped === true;
    let graceful = known?.graceful === true;
    const progress = (step: number, stepStartedMs: number) => {
      const processes = target instanceof ProcessTarget ? target.all() : target.processes();
      state.targets[spec.name] = {
        step,
        stepStartedMs,
        processes,
        ...(stopped ? { stopped } : {}),
        ...(graceful ? { graceful } : {}),
      };
      save();
    };
    // The stop command is the target's graceful signal: never twice. An earlier agent under this policy
    // recorded progress before running it; across a policy change, one process that got a graceful signal
    // before is enough to hold it back (the rest of the schedule, and KILL, still reach the others).
    const stopSent =
      known !== undefined ||
      (target instanceof ProcessTarget && target.all().some((p) => spared.has(identity(p.pid, p.startTime))));
    if (spec.selector.kind === 'process' && spec.selector.stop && !stopSent) {
      stopped = true;
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
        if (signal && 'signal' in signal) {
          targetLog.log('info', 'signal', { signal: signal.signal.name, atMs: clock() });
          if (signal.signal.number !== SIGKILL.number) graceful = true;
        }
        progress(step, stepStartedMs);
      },
      onSignalled: progress,
    });
    return report(result);
  };
  const targets = await Promise.all(policy.targets.map(drainOnce));
  // The containers' restart policies go back now (on those that have stopped), so that a warm-pool instance
  // started again gets them back at boot. A failure shows as the target's error; the outcome stands.
  const restoreFailed = await restoreRestartPolicies(restartPolicies, log);
  for (const target of targets) {
    const failure = restoreFailed.get(target.name);
    if (failure) target.error = (target.error ? `${target.error}; ${failure}` : failure).slice(0, 500);
  }

  state.phase = 'finally';
  // Worth a write only when there is a finally step a successor could resume at.
  if (policy.finally.length > 0) save();
  if (!options.dryRun && !abort.aborted) await runPhase('finally', () => leftMs(0));
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
    prepare: stepReports('prepare'),
    targets,
    finally: stepReports('finally'),
  };
  state.status = 'finished';
  state.report = report;
  state.targets = {}; // the report holds every process now; a finished drain is only replayed
  save();
  return report;
}
