// Adoption: instances of the configured groups that sit in Terminating:Wait with no drain command — their
// lifecycle event was lost (EventBridge is best effort) or its handler failed for good.
//
// The drain id of an adopted instance is `adopted-<instanceId>` (see adoptedDrainId): no API returns the
// lifecycle token, and a deterministic id makes overlapping adoptions join one drain on the host. The
// lifecycle action is then addressed by InstanceId, which CompleteLifecycleAction and
// RecordLifecycleActionHeartbeat accept instead of the token.
//
// Nothing records when an instance entered Terminating:Wait, so the delay is spent here: candidates are
// checked again after it, and only those still waiting with still no command are adopted. This leaves the
// event path time to send its own command (and a late start that finds the adopted command sends nothing).

import { type DrainParameters, findInvalidParameter } from '../agent/drain-parameters';
import { completeDrain, drainKeys } from './complete-drain';
import type { DrainerConfig } from './config';
import {
  adoptedDrainId,
  type DrainCommand,
  formatDeadline,
  type LifecycleActionRef,
  toDrainCommand,
} from './drain-command';
import { InstanceUnreachableError } from './errors';
import { isTerminatingWait } from './lifecycle-state';
import { mapConcurrent, type Settled } from './map-concurrent';
import { isRelevantCommand } from './plan-tick';
import type { Deps, InstanceState } from './ports';
import { announceStart, heartbeatOrCancel } from './start-drain';

/** Adopts the candidates that still need it after the adoption delay; resolves with the failures. */
export async function adoptInstances(
  deps: Deps,
  config: DrainerConfig,
  candidates: readonly InstanceState[],
  historyStartMs: number,
  concurrency: number,
): Promise<{ adopted: number; failures: Settled<InstanceState>[] }> {
  if (candidates.length === 0) return { adopted: 0, failures: [] };
  await deps.sleep(config.adoptionDelayMs);
  const current = new Map(
    (await deps.autoScaling.describeInstances(candidates.map((candidate) => candidate.instanceId))).map(
      (state) => [state.instanceId, state],
    ),
  );
  let adopted = 0;
  const failures = await mapConcurrent(candidates, concurrency, async (candidate) => {
    const state = current.get(candidate.instanceId);
    if (state?.groupName !== candidate.groupName || !isTerminatingWait(state.lifecycleState)) return;
    const commands = (
      await deps.ssm.listCommands({ instanceId: candidate.instanceId, invokedAfterMs: historyStartMs })
    )
      .map(toDrainCommand)
      .filter(
        (command): command is DrainCommand =>
          command?.params.instanceId === candidate.instanceId &&
          isRelevantCommand(command, deps.now(), config),
      );
    if (commands.length > 0) return;
    if (await adoptInstance(deps, config, candidate)) adopted += 1;
  });
  return { adopted, failures };
}

async function adoptInstance(deps: Deps, config: DrainerConfig, instance: InstanceState): Promise<boolean> {
  const action: LifecycleActionRef = {
    groupName: instance.groupName,
    hookName: config.hookName,
    instanceId: instance.instanceId,
    token: undefined,
  };
  const nowMs = deps.now();
  const params: DrainParameters = {
    drainId: adoptedDrainId(instance.instanceId),
    // The action started earlier, at an unknown time; the drain still gets the full drain time from now.
    deadline: formatDeadline(nowMs + config.maxDrainMs),
    instanceId: instance.instanceId,
    autoScalingGroupName: instance.groupName,
    lifecycleHookName: config.hookName,
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
      startedMs: nowMs,
      young: false,
    });
    return false;
  }
  deps.metrics.count('Adoptions');
  await announceStart(deps, { action, params, commandId, adopted: true });
  // The action has been waiting for an unknown time: restart its heartbeat timeout now.
  const beat = await heartbeatOrCancel(
    deps,
    action,
    { commandId, requestedMs: nowMs, status: 'Pending', params },
    false,
  );
  if (beat === 'heartbeat') deps.metrics.count('Heartbeats');
  return true;
}
