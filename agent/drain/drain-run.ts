// One drain as it runs: its options, clock, saved state and the means to save it. The steps of the drain
// (drain.ts) all work on this one object.

import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ProcReader } from '../host/proc.js';
import type { DrainAction } from '../policy/drain-parameters.js';
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
  /** `prepare`: run only the prepare steps and signal nothing (outcome `prepared`). Default `drain`. */
  action?: DrainAction;
  stateDir: string;
  abort: AbortSignal;
  log: Logger;
  proc?: ProcReader;
  kill?: Kill;
  /** How often a drain that joined another re-reads that drain's state. */
  joinPollMs?: number;
  /**
   * Called once this process owns the drain, before its first change to the host that a restore undoes:
   * starts the guardian that undoes those changes if this process is killed (guardian.ts).
   */
  startGuardian?: () => void;
}

/** The least a prepare, stop or finally command gets, however close the deadline. */
const MIN_COMMAND_MS = 1_000;
/** How often, at most, a running drain re-reads the deadline that joining drains hand it. */
const DEADLINE_READ_MS = 200;

export interface DrainRun {
  options: DrainOptions;
  proc: ProcReader;
  protection: Protection;
  startedAt: Date;
  /** Milliseconds since the drain started (a resumed drain keeps its first agent's start). */
  clock: DrainClock;
  /**
   * The deadline the drain honours now: the earliest of its own, its state's (a resumed drain) and those
   * joining drains handed it (re-read at most every DEADLINE_READ_MS). It only ever moves earlier.
   */
  deadline: () => Date | undefined;
  /** The same deadline on `clock`'s scale. */
  deadlineMs: () => number | undefined;
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
  /**
   * Writes the state before a change to the host that a restore can undo (a marker, a drop-in, a restart
   * policy), starting the guardian first if it is not running yet: a drain that changes nothing (processes
   * alone) never pays for one.
   */
  saveChange: () => void;
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
  // An interrupted drain taken up again runs once more until it finishes.
  state.status = 'running';
  delete state.report;
  delete state.handedTo;
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
  let guarded = false;
  const saveChange = () => {
    if (!guarded) options.startGuardian?.();
    guarded = true;
    save();
  };
  const clock: DrainClock = () => Date.now() - startedAt.getTime();
  const deadline = deadlineKeeper(options, { store, state, save });
  const run: DrainRun = {
    options,
    proc,
    protection: protectProcesses(proc),
    startedAt,
    clock,
    deadline,
    deadlineMs: () => {
      const time = deadline()?.getTime();
      return time === undefined ? undefined : time - startedAt.getTime();
    },
    longestFinalStepMs: Math.max(0, ...policy.targets.map((spec) => finalStepMs(spec.schedule.steps))),
    state,
    stepsDone: state.stepsDone,
    restartPolicies: state.restartPolicies,
    markers: state.markers,
    dropIns: { paths: state.dropIns, save: saveChange },
    legacyPrepareDone,
    spared: new Set(state.spared),
    save,
    saveChange,
  };
  // Changes an earlier agent of this drain made are guarded from the start.
  const containers = Object.values(state.restartPolicies).some((byId) => Object.keys(byId).length > 0);
  if (state.markers.length > 0 || state.dropIns.length > 0 || containers) saveChange();
  deadline(); // a deadline handed over while no agent ran goes into the first save
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

const earliest = (a: Date | undefined, b: Date | undefined): Date | undefined =>
  a && b ? (a.getTime() <= b.getTime() ? a : b) : (a ?? b);

/**
 * The drain's deadline, kept in its state (so a resumed drain keeps the earliest): its own, or an earlier
 * one a joining drain wrote to the state dir (DrainStore.offerDeadline). Logged when it moves.
 */
function deadlineKeeper(
  { deadline: own, log }: DrainOptions,
  { store, state, save }: { store: DrainStore | undefined; state: DrainState; save: () => void },
): () => Date | undefined {
  const saved = state.deadline === undefined ? Number.NaN : Date.parse(state.deadline);
  let current = earliest(own, Number.isNaN(saved) ? undefined : new Date(saved));
  let readAt = Number.NEGATIVE_INFINITY;
  const check = () => {
    const handed = store?.readDeadline(state.id);
    if (handed && (!current || handed.deadline.getTime() < current.getTime())) {
      log.log('warn', 'the deadline moved earlier: a drain that joined this one must end sooner', {
        deadline: handed.deadline.toISOString(),
        previousDeadline: current?.toISOString() ?? null,
        joiningDrainId: handed.by,
      });
      current = handed.deadline;
    }
    if (current && state.deadline !== current.toISOString()) {
      state.deadline = current.toISOString();
      save();
    }
  };
  return () => {
    if (Date.now() - readAt >= DEADLINE_READ_MS) {
      readAt = Date.now();
      check();
    }
    return current;
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
 * Whether a command that has run `elapsedMs` may go on: false once the deadline, moved earlier by a joining
 * drain while it ran, leaves no more time (but reserveMs), after MIN_COMMAND_MS at least.
 */
export function commandMayGoOn(run: DrainRun, reserveMs: number): (elapsedMs: number) => boolean {
  return (elapsedMs) => {
    const deadlineMs = run.deadlineMs();
    return deadlineMs === undefined || elapsedMs < MIN_COMMAND_MS || run.clock() < deadlineMs - reserveMs;
  };
}

/**
 * How long a command (prepare, stop, finally) may take: up to the deadline, leaving `reserveMs` for the
 * last steps of the schedules, and never less than MIN_COMMAND_MS.
 */
export function commandTimeLeftMs(run: DrainRun, reserveMs: number): number {
  const deadlineMs = run.deadlineMs();
  if (deadlineMs === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(MIN_COMMAND_MS, deadlineMs - run.clock() - reserveMs);
}
