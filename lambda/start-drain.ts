// Start: a terminate lifecycle action for a configured group and hook → one drain command on the host.

import { type DrainParameters, findInvalidParameter } from '../agent/drain-parameters';
import type { LifecycleWork } from './classify-event';
import { completeDrain, drainKeys, withPropagationRetry } from './complete-drain';
import type { DrainerConfig } from './config';
import {
  adoptedDrainId,
  type DrainCommand,
  formatDeadline,
  type LifecycleActionRef,
  toDrainCommand,
} from './drain-command';
import { STARTED_DETAIL_TYPE, type StartedDetail } from './drain-events';
import { errorMessage, InstanceUnreachableError, NoActiveLifecycleActionError } from './errors';
import { mayHaveActiveAction } from './lifecycle-state';
import type { Deps, LogKeys } from './ports';

/** How often SendCommand is retried on InvalidInstanceId within the unreachable grace. */
export const UNREACHABLE_RETRY_MS = 5000;
/** Clocks of EventBridge, SSM and Lambda differ a little; commands are looked up from this before the event. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export type StartResult =
  | 'started'
  | 'duplicate'
  | 'already-adopted'
  | 'action-over'
  | 'skipped'
  | 'unreachable'
  | 'expired'
  | 'invalid';

/** Handles one terminate lifecycle action. Throws only AWS failures that Lambda should retry. */
export async function startDrain(
  deps: Deps,
  config: DrainerConfig,
  work: LifecycleWork,
): Promise<StartResult> {
  const action: LifecycleActionRef = {
    groupName: work.groupName,
    hookName: work.hookName,
    instanceId: work.instanceId,
    token: work.token,
  };
  const keys = drainKeys(action, work.token);
  const nowMs = deps.now();

  // An instance leaving the warm pool is stopped: SSM cannot reach it, and nothing runs on it.
  if (work.origin === 'WarmPool') {
    await completeDrain(deps, config, {
      action,
      drainId: work.token,
      commandId: null,
      outcome: 'skipped',
      reason: 'instance comes from the warm pool (stopped)',
      startedMs: work.eventTimeMs,
      young: true,
    });
    return 'skipped';
  }

  const params: DrainParameters = {
    drainId: work.token,
    deadline: formatDeadline(work.eventTimeMs + config.maxDrainMs),
    instanceId: work.instanceId,
    autoScalingGroupName: work.groupName,
    lifecycleHookName: work.hookName,
  };
  const invalid = findInvalidParameter(params);
  if (invalid !== undefined) {
    deps.log.error('drain parameter does not match the document pattern; not sending', {
      ...keys,
      parameter: invalid,
    });
    return 'invalid';
  }

  // A duplicated or late event for an action that is already over (completed as skipped/unreachable/expired,
  // timed out, instance gone) must not start a drain: only an instance that is still terminating is drained.
  const [state] = await deps.autoScaling.describeInstances([work.instanceId]);
  if (!mayHaveActiveAction(state?.lifecycleState)) {
    deps.log.info('instance is no longer terminating; not draining', {
      ...keys,
      lifecycleState: state?.lifecycleState,
    });
    return 'action-over';
  }

  // Duplicate events (EventBridge is at-least-once, Lambda retries async invocations) must not send a second
  // command. SSM has no idempotency token, so look for a command carrying this token. ListCommands is
  // eventually consistent: a duplicate arriving within seconds of the first SendCommand may not see it and
  // send again. That second command has the same drainId, so the agent on the host joins the first drain
  // (no signal is sent twice), and the reconciler groups commands by drainId (one heartbeat, one completion).
  const existing = (
    await deps.ssm.listCommands({
      instanceId: work.instanceId,
      invokedAfterMs: work.eventTimeMs - CLOCK_SKEW_MS,
    })
  )
    .map(toDrainCommand)
    .filter(
      (command): command is DrainCommand =>
        command !== undefined && command.params.instanceId === work.instanceId,
    );
  if (existing.some((command) => command.params.drainId === work.token)) {
    deps.log.info('drain command already sent for this token; nothing to do', keys);
    return 'duplicate';
  }
  // The reconciler adopted this instance while our event was late: its drain owns the action now.
  if (existing.some((command) => command.params.drainId === adoptedDrainId(work.instanceId))) {
    deps.log.info('instance was adopted by the reconciler; nothing to do', keys);
    return 'already-adopted';
  }

  if (nowMs >= work.eventTimeMs + config.maxDrainMs) {
    await completeDrain(deps, config, {
      action,
      drainId: work.token,
      commandId: null,
      outcome: 'expired',
      reason: 'lifecycle event arrived after its deadline',
      startedMs: work.eventTimeMs,
      young: false,
    });
    return 'expired';
  }

  const commandId = await sendWithinGrace(deps, config, params, keys);
  if (commandId === undefined) {
    await completeDrain(deps, config, {
      action,
      drainId: work.token,
      commandId: null,
      outcome: 'unreachable',
      reason: `SSM could not reach the instance within ${config.unreachableGraceMs / 1000} s (InvalidInstanceId)`,
      startedMs: work.eventTimeMs,
      young: true,
    });
    return 'unreachable';
  }

  await announceStart(deps, { action, params, commandId, adopted: false });

  // The action's heartbeat timeout runs from the event. The reconciler's first heartbeat comes about H/2 after
  // the command; if the event itself was that late, heartbeat now so the action cannot time out meanwhile.
  if (deps.now() - work.eventTimeMs > config.heartbeatTimeoutMs / 4) {
    const beat = await heartbeatOrCancel(deps, action, {
      commandId,
      requestedMs: deps.now(),
      status: 'Pending',
      params,
    });
    if (beat === 'heartbeat') deps.metrics.count('Heartbeats');
  }
  return 'started';
}

/** SendCommand, retried on InvalidInstanceId for the unreachable grace. Undefined when it never got through. */
export async function sendWithinGrace(
  deps: Deps,
  config: DrainerConfig,
  params: DrainParameters,
  keys: LogKeys,
): Promise<string | undefined> {
  const firstAttemptMs = deps.now();
  for (;;) {
    try {
      return await deps.ssm.sendDrainCommand(params);
    } catch (error) {
      if (!(error instanceof InstanceUnreachableError)) throw error;
      const remainingMs = firstAttemptMs + config.unreachableGraceMs - deps.now();
      deps.log.warn('instance unreachable through SSM', { ...keys, error: errorMessage(error), remainingMs });
      if (remainingMs <= 0) return undefined;
      await deps.sleep(Math.min(UNREACHABLE_RETRY_MS, remainingMs));
    }
  }
}

/** Logs, counts and emits `Fleet Drain Started` (an event failure is logged, never fatal). */
export async function announceStart(
  deps: Deps,
  start: { action: LifecycleActionRef; params: DrainParameters; commandId: string; adopted: boolean },
): Promise<void> {
  const { action, params, commandId, adopted } = start;
  const keys = drainKeys(action, params.drainId, commandId);
  deps.log.info(adopted ? 'drain started (adopted instance)' : 'drain started', {
    ...keys,
    deadline: params.deadline,
  });
  deps.metrics.count('DrainsStarted');
  const detail: StartedDetail = {
    instanceId: action.instanceId,
    autoScalingGroupName: action.groupName,
    lifecycleHookName: action.hookName,
    lifecycleActionToken: action.token ?? null,
    drainId: params.drainId,
    commandId,
    deadline: params.deadline,
    adopted,
  };
  try {
    await deps.events.putEvent(STARTED_DETAIL_TYPE, { ...detail });
  } catch (error) {
    deps.log.error('could not emit Fleet Drain Started', { ...keys, error: errorMessage(error) });
  }
}

/**
 * Heartbeats a drain; when its lifecycle action is gone, cancels the command instead (nothing to drain for).
 * The caller counts the `Heartbeats` metric (a tick emits one total, not one data point per drain).
 */
export async function heartbeatOrCancel(
  deps: Deps,
  action: LifecycleActionRef,
  command: DrainCommand,
  young = true,
): Promise<'heartbeat' | 'gone'> {
  const keys = drainKeys(action, command.params.drainId, command.commandId);
  try {
    await withPropagationRetry(deps, action, young, () => deps.autoScaling.recordHeartbeat(action));
    deps.log.debug('heartbeat', keys);
    return 'heartbeat';
  } catch (error) {
    if (!(error instanceof NoActiveLifecycleActionError)) throw error;
    deps.log.warn('lifecycle action is gone; cancelling the drain command', keys);
    deps.metrics.count('LifecycleActionsGone');
    await deps.ssm.cancelCommand(command);
    return 'gone';
  }
}
