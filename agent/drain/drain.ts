// The drain: take the drain id (or join or replay the drain that holds it), run prepare, drain every target
// (honouring `after`), put the containers' restart policies back, run finally, and build the one report.

import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../common/errors.js';
import { procReader } from '../host/proc.js';
import { EXIT } from '../report/exit-codes.js';
import {
  type DrainOutcome,
  type DrainReport,
  emptyReport,
  REPORT_VERSION,
  type TargetReport,
} from '../report/report.js';
import { restoreRestartPolicies } from '../targets/restart-policies.js';
import { type DrainOptions, type DrainRun, type RunStorage, startRun } from './drain-run.js';
import { DrainStore, type LockOwner } from './drain-state.js';
import { drainTargets, TARGET_ERROR_MAX_CHARS } from './drain-target.js';
import { exitCodeFor, overallOutcome } from './outcome.js';
import { runPhase, stepReports } from './run-phase.js';

export type { DrainOptions };

/** How often, by default, a drain that joined another re-reads its state. */
const JOIN_POLL_MS = 100;

/** Runs the drain, or joins or replays the one with the same id. Never throws for a worker's behaviour. */
export async function drain(options: DrainOptions): Promise<DrainReport> {
  const proc = options.proc ?? procReader();
  const self = proc.stat(process.pid);
  const store = new DrainStore(options.stateDir, proc, { pid: process.pid, startTime: self?.startTime ?? 0 });
  if (options.dryRun) return runDrain(options, { proc });
  for (;;) {
    const acquired = store.acquire(options.id);
    if (acquired.kind === 'finished' && acquired.state.report) {
      const { id, report } = { id: acquired.state.id, report: acquired.state.report };
      options.log.log('info', 'drain already finished: replaying its report');
      // Its agent died and a drain of another id finished it (handed over): that one's report, under our id.
      if (id === options.id) return { ...report, joined: true };
      return { ...report, id: options.id, joined: true, joinedDrainId: id };
    }
    if (acquired.kind === 'owner') return ownDrain(options, { proc, store, previous: acquired.previous });
    if (acquired.kind === 'running') {
      const report = await joinDrain(options, store, acquired.owner);
      // Its agent died before it finished: take the drain over on the next turn.
      if (report) return report;
    }
  }
}

async function ownDrain(
  options: DrainOptions,
  storage: RunStorage & { store: DrainStore },
): Promise<DrainReport> {
  const { store, previous } = storage;
  if (previous?.status === 'finished') {
    options.log.log('warn', 'resuming an interrupted drain where it stood', { resumedDrainId: previous.id });
  } else if (previous) {
    options.log.log('warn', 'resuming a drain whose agent died', {
      phase: previous.phase,
      resumedDrainId: previous.id,
    });
  }
  try {
    return await runDrain(options, storage);
  } finally {
    store.release();
  }
}

/**
 * Waits for the report of the drain that holds the host; undefined if its agent dies first. That drain may
 * have another id (an adopted drain and a late lifecycle event for the same instance): its result is
 * reported under our own id all the same.
 */
async function joinDrain(
  options: DrainOptions,
  store: DrainStore,
  owner: LockOwner,
): Promise<DrainReport | undefined> {
  const runningId = owner.id ?? options.id;
  options.log.log('info', 'a drain is already running: joining it', {
    ownerPid: owner.pid,
    ...(runningId !== options.id ? { joinedDrainId: runningId } : {}),
  });
  handOverDeadline(options, store, runningId);
  const finished = (): DrainReport | 'prepared' | undefined => {
    const state = store.read(runningId);
    if (state?.status !== 'finished' || !state.report) return undefined;
    // A drain that only prepared stands for no full one: this one runs once that one lets the lock go.
    if (state.report.outcome === 'prepared' && options.action !== 'prepare') return 'prepared';
    if (runningId === options.id) return { ...state.report, joined: true };
    return { ...state.report, id: options.id, joined: true, joinedDrainId: runningId };
  };
  while (store.isAlive(owner)) {
    const report = finished();
    if (report === 'prepared' && !store.holds(owner)) break;
    if (report && report !== 'prepared') return report;
    try {
      await sleep(options.joinPollMs ?? JOIN_POLL_MS, undefined, { signal: options.abort });
    } catch {
      // Interrupted while joining: the owner keeps draining; report what we know.
      return emptyReport(options.id, 'interrupted', EXIT.interrupted, { joined: true });
    }
  }
  const report = finished();
  return report === 'prepared' ? undefined : report;
}

/**
 * A joiner with an earlier deadline (a spot interruption joining a lifecycle drain) moves the running
 * drain's deadline to its own: that drain re-reads it and clips its waits. Never to a later one.
 */
function handOverDeadline(options: DrainOptions, store: DrainStore, runningId: string): void {
  const { deadline, log } = options;
  // A prepare's deadline bounds its prepare steps, not how long the workers of a running drain get.
  if (!deadline || runningId === options.id || options.action === 'prepare') return;
  const theirs = store.read(runningId)?.deadline;
  if (theirs !== undefined && Date.parse(theirs) <= deadline.getTime()) return;
  try {
    if (!store.offerDeadline(runningId, deadline, options.id)) return;
  } catch (error) {
    log.log('error', 'cannot hand the running drain an earlier deadline', { error: describeError(error) });
    return;
  }
  log.log('warn', 'handed the running drain an earlier deadline', {
    deadline: deadline.toISOString(),
    previousDeadline: theirs ?? null,
    joinedDrainId: runningId,
  });
}

/** The drain itself, as this agent runs it: each step a function over the one DrainRun. */
async function runDrain(options: DrainOptions, storage: RunStorage): Promise<DrainReport> {
  const run = startRun(options, storage);
  const { dryRun, abort } = options;
  if (options.action === 'prepare') return prepareOnly(run);
  if (!dryRun) await runPhase(run, 'prepare', run.longestFinalStepMs);
  enterPhase(run, 'targets');
  const targets = await drainTargets(run);
  await putRestartPoliciesBack(run, targets);
  enterPhase(run, 'finally');
  if (!dryRun && !abort.aborted) await runPhase(run, 'finally', 0);
  return finishRun(run, targets, dryRun ? 'nothing' : overallOutcome(targets, abort.aborted));
}

/**
 * `--action prepare` (a rebalance recommendation): the prepare steps alone, no target touched. It finishes
 * like any drain (its lock released, its report kept for a duplicate), so a later drain runs in full.
 */
async function prepareOnly(run: DrainRun): Promise<DrainReport> {
  const { dryRun, abort } = run.options;
  if (!dryRun) await runPhase(run, 'prepare', 0);
  return finishRun(run, [], dryRun ? 'nothing' : abort.aborted ? 'interrupted' : 'prepared');
}

function enterPhase(run: DrainRun, phase: 'targets' | 'finally'): void {
  run.state.phase = phase;
  // Entering `finally` is worth a write only when there is a finally step a successor could resume at.
  if (phase === 'targets' || run.options.policy.finally.length > 0) run.save();
}

/**
 * The containers' restart policies go back now (on those that have stopped), so that a warm-pool instance
 * started again gets them back at boot. A failure shows as the target's error; the outcome stands.
 */
async function putRestartPoliciesBack(run: DrainRun, targets: TargetReport[]): Promise<void> {
  const failed = await restoreRestartPolicies(run.restartPolicies, run.options.log);
  for (const target of targets) {
    const failure = failed.get(target.name);
    if (failure)
      target.error = (target.error ? `${target.error}; ${failure}` : failure).slice(
        0,
        TARGET_ERROR_MAX_CHARS,
      );
  }
}

/** The report, saved with the state: a finished drain is only ever replayed. */
function finishRun(run: DrainRun, targets: TargetReport[], outcome: DrainOutcome): DrainReport {
  const { options, state, startedAt } = run;
  const finishedAt = new Date();
  const deadline = run.deadline();
  const report: DrainReport = {
    version: REPORT_VERSION,
    id: options.id,
    outcome,
    exitCode: exitCodeFor(outcome),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    joined: false,
    ...(deadline ? { deadline: deadline.toISOString() } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    prepare: stepReports(run, 'prepare'),
    targets,
    finally: stepReports(run, 'finally'),
  };
  state.status = 'finished';
  state.report = report;
  // The report holds every process now; an interrupted drain keeps its progress, for the same id to resume.
  if (outcome !== 'interrupted') state.targets = {};
  run.save();
  return report;
}
