// Adoption: instances that wait in a terminate state without a drain command (their event was lost). Each
// is probed with a heartbeat by InstanceId (another hook's instance answers "No active"), re-checked after
// the adoption delay, then drained under `adopted-<instanceId>-<tick minute>` (no API returns the token).

import { findInvalidParameter } from '../../agent/policy/drain-parameters';
import { describeError } from '../../common/errors';
import { InstanceUnreachableError, NoActiveLifecycleActionError } from '../aws/errors';
import type { Deps, InstanceState } from '../aws/ports';
import type { DrainerConfig } from '../config';
import { isTerminalStatus } from '../decide/command-status';
import {
  adoptedDrainId,
  formatDeadline,
  isLifecycleDrainId,
  type LifecycleActionRef,
  type SentDrainParameters,
  toDrainCommands,
} from '../decide/drain-command';
import type { AdoptionCandidate } from '../decide/fleet-state';
import { isTerminatingWait } from '../decide/lifecycle-state';
import { isRelevantCommand } from '../decide/plan-tick';
import { mapConcurrent, type Settled } from '../map-concurrent';
import { announceStart, completeDrain, drainKeys } from './drain-actions';

/**
 * What adoption needs after its delay: describe, list, send and maybe complete, with SDK backoff. A tick
 * with less time left than delay + this skips the adoption (the next tick adopts; the probe has heartbeated).
 */
export const ADOPTION_RESERVE_MS = 60_000;

export interface AdoptionRequest {
  candidates: readonly AdoptionCandidate[];
  /** Commands are listed from here. */
  historyStartMs: number;
  /** The adopting tick's scheduled time: the minute in the adopted drain id. */
  tickMs: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** True when lifecycle events wait in the queue again (checked after the delay): then adopt nothing. */
  eventsQueued?: () => Promise<boolean>;
}

export interface AdoptionResult {
  adopted: number;
  /** Probes (first heartbeats) that succeeded. */
  heartbeats: number;
  /** Steps that failed; `heartbeat` for a failed probe (a heartbeat that did not happen). */
  failures: (Settled<AdoptionCandidate> & { heartbeat: boolean })[];
}

/** Adopts the candidates that still need it after the adoption delay. */
export async function adoptInstances(
  deps: Deps,
  config: DrainerConfig,
  request: AdoptionRequest,
): Promise<AdoptionResult> {
  const result: AdoptionResult = { adopted: 0, heartbeats: 0, failures: [] };
  if (request.candidates.length === 0) return result;
  const probedMs = await probe(deps, config, request, result);
  const probed = request.candidates.filter((candidate) => probedMs.has(candidate.instanceId));
  if (probed.length === 0) return result;
  if (!(await waitAdoptionDelay(deps, config, request, probed.length))) return result;
  const waiting = await stillWaiting(deps, probed);
  const failures = await mapConcurrent(waiting, request.concurrency, async (candidate) => {
    if (!(await hasNoDrain(deps, config, request, candidate))) return;
    const probeMs = probedMs.get(candidate.instanceId) as number;
    if (await adoptInstance(deps, config, { instance: candidate, probeMs, tickMs: request.tickMs })) {
      result.adopted += 1;
    }
  });
  result.failures.push(...failures.map((failure) => ({ ...failure, heartbeat: false })));
  return result;
}

/**
 * Heartbeats each candidate's action of our hook: "No active Lifecycle Action" means another hook holds the
 * instance (left alone). Returns when each successful probe started: the adopted drain's time counts from it.
 */
async function probe(
  deps: Deps,
  config: DrainerConfig,
  { candidates, concurrency }: AdoptionRequest,
  result: AdoptionResult,
): Promise<Map<string, number>> {
  const probedMs = new Map<string, number>();
  const failures = await mapConcurrent(candidates, concurrency, async (candidate) => {
    const action = actionOf(config, candidate);
    const startMs = deps.now();
    try {
      await deps.autoScaling.recordHeartbeat(action);
    } catch (error) {
      if (!(error instanceof NoActiveLifecycleActionError)) throw error;
      deps.log.info(
        'not adopting: no active lifecycle action of our hook (another hook holds the instance)',
        {
          instanceId: action.instanceId,
          autoScalingGroupName: action.groupName,
          error: describeError(error),
        },
      );
      return;
    }
    probedMs.set(candidate.instanceId, startMs);
  });
  result.failures.push(...failures.map((failure) => ({ ...failure, heartbeat: true })));
  result.heartbeats = probedMs.size;
  return probedMs;
}

/** Sleeps the adoption delay; false when the invocation has too little time left or events queued meanwhile. */
async function waitAdoptionDelay(
  deps: Deps,
  config: DrainerConfig,
  { eventsQueued = async () => false }: AdoptionRequest,
  candidates: number,
): Promise<boolean> {
  const remainingMs = deps.remainingMs?.();
  if (remainingMs !== undefined && remainingMs < config.adoptionDelayMs + ADOPTION_RESERVE_MS) {
    deps.log.warn('not enough time left in this invocation to adopt; the next tick will', {
      remainingMs,
      candidates,
    });
    return false;
  }
  await deps.sleep(config.adoptionDelayMs);
  if (!(await eventsQueued())) return true;
  deps.log.info('lifecycle events were queued during the adoption delay; adopting nothing', { candidates });
  return false;
}

/** The probed candidates still in their group and in a terminate wait state after the delay. */
async function stillWaiting(deps: Deps, probed: readonly AdoptionCandidate[]): Promise<AdoptionCandidate[]> {
  const current = new Map(
    (await deps.autoScaling.describeInstances(probed.map((candidate) => candidate.instanceId))).map(
      (state) => [state.instanceId, state],
    ),
  );
  return probed.filter((candidate) => {
    const state = current.get(candidate.instanceId);
    return state?.groupName === candidate.groupName && isTerminatingWait(state.lifecycleState);
  });
}

/**
 * Whether no command could own the candidate's action: no lifecycle drain running, none finished of this
 * life. An EC2-notice drain owns no action: the adoption's command joins it on the host.
 */
async function hasNoDrain(
  deps: Deps,
  config: DrainerConfig,
  { historyStartMs }: AdoptionRequest,
  candidate: AdoptionCandidate,
): Promise<boolean> {
  const commands = (
    await deps.ssm.listCommands({ instanceId: candidate.instanceId, invokedAfterMs: historyStartMs })
  )
    .flatMap(toDrainCommands)
    .filter(
      (command) =>
        command.params.instanceId === candidate.instanceId && isLifecycleDrainId(command.params.drainId),
    );
  const nowMs = deps.now();
  return !commands.some(
    (command) =>
      !isTerminalStatus(command.status) ||
      (isRelevantCommand(command, nowMs, config) &&
        command.requestedMs > (candidate.ignoreFinishedUntilMs ?? Number.NEGATIVE_INFINITY)),
  );
}

function actionOf(config: DrainerConfig, instance: InstanceState): LifecycleActionRef {
  return {
    groupName: instance.groupName,
    hookName: config.hookName,
    instanceId: instance.instanceId,
    token: undefined,
  };
}

async function adoptInstance(
  deps: Deps,
  config: DrainerConfig,
  { instance, probeMs, tickMs }: { instance: InstanceState; probeMs: number; tickMs: number },
): Promise<boolean> {
  const action = actionOf(config, instance);
  const params: SentDrainParameters = {
    drainId: adoptedDrainId(instance.instanceId, tickMs),
    // The action started earlier, at an unknown time, and was heartbeated by the probe: the drain gets the
    // full drain time from then, and its heartbeat slots are counted from then.
    deadline: formatDeadline(probeMs + config.maxDrainMs),
    instanceId: instance.instanceId,
    autoScalingGroupName: instance.groupName,
    lifecycleHookName: config.hookName,
    action: 'drain',
  };
  const keys = drainKeys(action, params.drainId);
  if (findInvalidParameter(params) !== undefined) {
    deps.log.error('cannot adopt: a drain parameter does not match the document pattern', keys);
    return false;
  }
  deps.log.warn('adopting an instance in Terminating:Wait without a drain command', keys);
  let commandId: string;
  try {
    commandId = await deps.ssm.sendDrainCommand(params);
  } catch (error) {
    if (!(error instanceof InstanceUnreachableError)) throw error;
    // It has waited at least the adoption delay already; no point holding it longer.
    await completeDrain(deps, config, {
      action,
      drainId: params.drainId,
      commandId: null,
      outcome: 'unreachable',
      reason: 'adopted instance unreachable through SSM (InvalidInstanceId)',
      startedMs: probeMs,
      young: false,
    });
    return false;
  }
  deps.metrics.count('Adoptions');
  await announceStart(deps, { action, params, commandId, adopted: true });
  return true;
}
