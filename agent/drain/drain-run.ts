// One drain as it runs: its options, clock, saved state and the means to save it. The steps of the drain
// (drain.ts) all work on this one object.

import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ProcReader } from '../host/proc.js';
import type { ResolvedPolicy } from '../policy/policy.js';
import { policyFingerprint } from '../policy/policy-fingerprint.js';
import { finalStepMs } from '../policy/schedule.js';
import type { Kill } from '../targets/process-target.js';
import { type Protection, protectProcesses } from '../targets/protected-processes.js';
import type { DropIns } from '../targets/systemd-target.js';
import type { DrainClock } from '../targets/target.js';
import type { DrainState, DrainStore, StepDone } from './drain-state.js';
import { resumeState } from './resume-state.js';

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
  /** How often a drain that joined another re-reads that drain's state. */
  joinPollMs?: number;
  /**
   * Called once this process owns the drain, before it changes anything on the host: starts the guardian
   * that undoes those changes if this process is killed (guardian.ts).
   */
  startGuardian?: () => void;
}

/** The least a prepare, stop or finally command gets, however close the deadline. */
const MIN_COMMAND_MS = 1_000;

export interface DrainRun {
  options: DrainOptions;
  proc: ProcReader;
  protection: Protection;
  startedAt: Date;
  /** Milliseconds since the drain started (a resumed drain keeps its first agent's start). */
  clock: DrainClock;
  /** The deadline on `clock`'s scale. */
  deadlineMs: number | undefined;
  /** The longest last step of any schedule: what prepare steps leave room for before the deadline. */
  longestFinalStepMs: number;
  state: DrainState;
  stepsDone: { prepare: StepDone[]; finally: StepDone[] };
  restartPolicies: Record<string, Record<string, string>>;
  markers: NonNullable<DrainState['markers']>;
  dropIns: DropIns;
  /** Prepare steps an earlier agent version ran, in order, and recorded only as a count. */
  legacyPrepareDone: number;
  /** What got a graceful signal under an earlier policy of this drain (see resumeState). */
  spared: Set<string>;
  /** Writes the state; a failure is logged once and never stops the drain. */
  save: () => void;
}

/** Where a run keeps its state: none for a dry run. `previous`: the state of an agent that died. */
export interface RunStorage {
  proc: ProcReader;
  store?: DrainStore | undefined;
  previous?: DrainState | undefined;
}

/** The run of a new drain, or of one taken over from an agent that died. */
export function startRun(options: DrainOptions, { proc, store, previous }: RunStorage): DrainRun {
  const { policy, log } = options;
  const startedAt = previous ? new Date(previous.startedAt) : new Date();
  const fingerprint = policyFingerprint(policy);
  const state = previous
    ? resumeState(previous, fingerprint, log)
    : newState(options, startedAt, fingerprint);
  // An earlier agent version counted the prepare steps it ran, in order, and recorded no finally step.
  const legacyPrepareDone = state.stepsDone === undefined ? (state.prepareDone ?? 0) : 0;
  state.stepsDone ??= { prepare: [], finally: [] };
  state.restartPolicies ??= {};
  state.dropIns ??= [];
  state.markers ??= [];
  if (state.restored) {
    log.log('warn', 'this drain was undone after its agent was killed: going on, its changes made again', {
      restoredAt: state.restored.at,
    });
  }
  const save = stateSaver(store, state, log);
  const clock: DrainClock = () => Date.now() - startedAt.getTime();
  const run: DrainRun = {
    options,
    proc,
    protection: protectProcesses(proc),
    startedAt,
    clock,
    deadlineMs: options.deadline ? options.deadline.getTime() - startedAt.getTime() : undefined,
    longestFinalStepMs: Math.max(0, ...policy.targets.map((spec) => finalStepMs(spec.schedule.steps))),
    state,
    stepsDone: state.stepsDone,
    restartPolicies: state.restartPolicies,
    markers: state.markers,
    dropIns: { paths: state.dropIns, save },
    legacyPrepareDone,
    spared: new Set(state.spared),
    save,
  };
  save();
  return run;
}

function newState(options: DrainOptions, startedAt: Date, fingerprint: string): DrainState {
  return {
    id: options.id,
    status: 'running',
    startedAt: startedAt.toISOString(),
    ...(options.deadline ? { deadline: options.deadline.toISOString() } : {}),
    policy: fingerprint,
    prepareDone: 0,
    phase: 'prepare',
    targets: {},
  };
}

/** A state file that cannot be written (a full /run) must not stop the drain: logged once, and on. */
function stateSaver(store: DrainStore | undefined, state: DrainState, log: Logger): () => void {
  let saveFailed = false;
  return () => {
    try {
      store?.write(state);
    } catch (error) {
      if (!saveFailed) log.log('error', 'cannot write the drain state', { error: describeError(error) });
      saveFailed = true;
    }
  };
}

/**
 * How long a command (prepare, stop, finally) may take: up to the deadline, leaving `reserveMs` for the
 * last steps of the schedules, and never less than MIN_COMMAND_MS.
 */
export function commandTimeLeftMs(run: DrainRun, reserveMs: number): number {
  if (run.deadlineMs === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(MIN_COMMAND_MS, run.deadlineMs - run.clock() - reserveMs);
}
