// Start: a terminate lifecycle action for a configured group and hook → one drain command on the host.

import { type DrainParameters, findInvalidParameter } from '../../agent/drain-parameters';
import { errorMessage, InstanceUnreachableError, LifecycleConfigError } from '../aws/errors';
import type { Deps, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { LifecycleWork } from '../decide/classify-event';
import { isTerminalStatus } from '../decide/command-status';
import {
  type DrainCommand,
  formatDeadline,
  isAdoptedDrainId,
  type LifecycleActionRef,
  toDrainCommand,
} from '../decide/drain-command';
import { isStartHeartbeatDue } from '../decide/heartbeat-schedule';
import { isStoppedPoolState, mayHaveActiveAction } from '../decide/lifecycle-state';
import { drainPhaseMs } from '../decide/plan-tick';
import type { Delivery } from '../sqs-batch';
import { announceStart, CLOCK_SKEW_MS, completeDrain, drainKeys, heartbeatOrCancel } from './drain-actions';

/** How often SendCommand is retried on InvalidInstanceId within the unreachable grace. */
export const UNREACHABLE_RETRY_MS = 5000;
/** Time kept, at the end of the grace, for completing the action as unreachable before Lambda's timeout. */
export const UNREACHABLE_RESERVE_MS = 30_000;

export type StartResult =
  | 'started'
  | 'duplicate'
  | 'already-adopted'
  | 'already-draining'
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
  delivery?: Delivery,
): Promise<StartResult> {
  const action: LifecycleActionRef = {
    groupName: work.groupName,
    hookName: work.hookName,
    instanceId: work.instanceId,
    token: work.token,
  };
  const keys = drainKeys(action, work.token);
  const nowMs = deps.now();

  // An instance leaving a stopped or hibernated warm pool: SSM cannot reach it, and nothing runs on it. One
  // leaving a running pool is drained like any other (lifecycle-state.ts).
  // A role that cannot read the pool (a configuration error, logged) drains: SendCommand tells a stopped host.
  const poolState =
    work.origin === 'WarmPool'
      ? await deps.autoScaling.warmPoolState(work.groupName).catch((error: unknown) => {
          if (!(error instanceof LifecycleConfigError)) throw error;
          deps.log.error('CONFIGURATION ERROR: cannot read the warm pool; draining', {
            ...keys,
            error: errorMessage(error),
          });
          deps.metrics.count('ConfigErrors');
          return undefined;
        })
      : undefined;
  if (isStoppedPoolState(poolState)) {
    await completeDrain(deps, config, {
      action,
      drainId: work.token,
      commandId: null,
      outcome: 'skipped',
      reason: `instance comes from a warm pool of ${poolState} instances`,
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

  // A late event for an action that is already over (completed as unreachable or expired, timed out, the
  // instance gone or back in service from a warm pool) must not start a drain: only an instance that is still
  // terminating is drained. An event younger than H/2 needs no lookup: no timeout or expiry can have ended its
  // action yet, an unreachable completion means the agent is offline (SendCommand fails again and the
  // completion finds the action over, silently), and any drain of ours shows in the listing below. Skipping it
  // keeps a mass scale-in from spending the account's shared Auto Scaling budget on one lookup per instance,
  // the budget the heartbeats and completions need. (Lookups right after the event may be stale anyway.)
  if (nowMs - work.eventTimeMs >= config.heartbeatTimeoutMs / 2) {
    const [state] = await deps.autoScaling.describeInstances([work.instanceId]);
    if (!mayHaveActiveAction(state?.lifecycleState)) {
      deps.log.info('instance is no longer terminating; not draining', {
        ...keys,
        lifecycleState: state?.lifecycleState,
      });
      return 'action-over';
    }
  }

  // Duplicate events (EventBridge is at-least-once, a retried delivery) must not send a second command. SSM
  // has no idempotency token, so look for a command carrying this token — unless the event is a first
  // delivery that reached the queue promptly: then nothing of ours can have sent for it yet (no earlier
  // attempt; and the reconciler adopts nothing while lifecycle events wait in the queue, nor within the
  // adoption delay), and a storm of events spends none of SSM's ListCommands budget, which the
  // reconciler's listing needs. EventBridge's rare duplicate delivery then sends a second command with the
  // same drainId: the agent on the host joins the first drain (no signal is sent twice) and the reconciler
  // groups commands by drainId (one heartbeat, one completion). ListCommands is eventually consistent
  // anyway: a duplicate within seconds of the first SendCommand may not see it either.
  if (mayBeDuplicate(config, work, delivery)) {
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
    // Whatever drain already runs for this action, a late event (or a retry of this one after the first
    // attempt failed past SendCommand) still owes the action the heartbeat a late start gives it.
    const own = existing.find((command) => command.params.drainId === work.token);
    if (own !== undefined) {
      deps.log.info('drain command already sent for this token; nothing to do', keys);
      await heartbeatIfLate(deps, config, action, work.eventTimeMs, own);
      return 'duplicate';
    }
    // The reconciler adopted this instance while our event was late: its drain owns the action now.
    const adopted = existing.find(
      (command) => isAdoptedDrainId(command.params.drainId) && command.requestedMs >= work.eventTimeMs,
    );
    if (adopted !== undefined) {
      deps.log.info('instance was adopted by the reconciler; nothing to do', {
        ...keys,
        adoptedDrainId: adopted.params.drainId,
      });
      await heartbeatIfLate(deps, config, action, work.eventTimeMs, adopted);
      return 'already-adopted';
    }
    // Any other running fleet-drain command on the instance (an adoption racing this event, a drain under
    // another id) is already draining it: a second drain under a different id must not start beside it.
    const running = existing.find((command) => !isTerminalStatus(command.status));
    if (running !== undefined) {
      deps.log.info('another drain command is running on the instance; treating it as this drain', {
        ...keys,
        runningDrainId: running.params.drainId,
        runningCommandId: running.commandId,
      });
      await heartbeatIfLate(deps, config, action, work.eventTimeMs, running);
      return 'already-draining';
    }
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

  await heartbeatIfLate(deps, config, action, work.eventTimeMs, {
    commandId,
    requestedMs: deps.now(),
    status: 'Pending',
    params,
  });
  return 'started';
}

/**
 * Whether the event may be a duplicate of one already handled: a redelivery, an event that reached the
 * queue late (an adoption may have raced it: the reconciler adopts after its delay), or one that came
 * without SQS (a direct invocation: nothing is known of how it came).
 */
export function mayBeDuplicate(
  config: DrainerConfig,
  work: LifecycleWork,
  delivery: Delivery | undefined,
): boolean {
  if (delivery === undefined || delivery.receiveCount > 1) return true;
  return delivery.sentMs - work.eventTimeMs > config.adoptionDelayMs / 2;
}

/**
 * The action's heartbeat timeout runs from the event, and the reconciler's heartbeat slots are counted from
 * it too; a command sent late may miss the first tick of its slot (heartbeat-schedule.ts): heartbeat now.
 */
async function heartbeatIfLate(
  deps: Deps,
  config: DrainerConfig,
  action: LifecycleActionRef,
  eventTimeMs: number,
  command: DrainCommand,
): Promise<void> {
  const phaseMs = drainPhaseMs(command.params.drainId, config);
  if (!isStartHeartbeatDue(eventTimeMs, deps.now(), config.tickPeriodMs, config.heartbeatTimeoutMs, phaseMs))
    return;
  const beat = await heartbeatOrCancel(deps, action, command, { young: true });
  if (beat === 'heartbeat') deps.metrics.count('Heartbeats');
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
      // Keep time to complete the action as unreachable before Lambda stops the invocation.
      const invocationLeftMs = deps.remainingMs?.();
      if (
        invocationLeftMs !== undefined &&
        invocationLeftMs < UNREACHABLE_RESERVE_MS + UNREACHABLE_RETRY_MS
      ) {
        return undefined;
      }
      await deps.sleep(Math.min(UNREACHABLE_RETRY_MS, remainingMs));
    }
  }
}
