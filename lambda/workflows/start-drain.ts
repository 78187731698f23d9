// Start: terminate lifecycle actions for a configured group and hook → a drain command on each host. The
// actions of one batch that arrive together share their SendCommands: one per group and 50 instances.

import { findInvalidParameter } from '../../agent/policy/drain-parameters';
import { describeError } from '../../common/errors';
import { InstanceUnreachableError, LifecycleConfigError } from '../aws/errors';
import type { Deps, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { LifecycleWork } from '../decide/classify-event';
import { isTerminalStatus } from '../decide/command-status';
import {
  batchParameters,
  type DrainCommand,
  formatDeadline,
  isAdoptedDrainId,
  isLifecycleDrainId,
  type LifecycleActionRef,
  planBatches,
  type SentDrainParameters,
  toDrainCommands,
} from '../decide/drain-command';
import { isStartHeartbeatDue } from '../decide/heartbeat-schedule';
import { isStoppedPoolState, mayHaveActiveAction } from '../decide/lifecycle-state';
import { drainPhaseMs } from '../decide/plan-tick';
import type { Delivery } from '../sqs-batch';
import {
  announceStart,
  CLOCK_SKEW_MS,
  completeDrain,
  drainKeys,
  heartbeatOrCancel,
  mayBeDuplicate,
  sendWithinGrace,
} from './drain-actions';

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

/** What the steps of one start share. */
interface Start {
  deps: Deps;
  config: DrainerConfig;
  work: LifecycleWork;
  action: LifecycleActionRef;
  keys: LogKeys;
  params: SentDrainParameters;
}

/** One terminate lifecycle action to start, and how SQS delivered it (none for a direct invocation). */
export interface StartRequest {
  work: LifecycleWork;
  delivery?: Delivery | undefined;
}

/** Handles one terminate lifecycle action. Throws only AWS failures that Lambda should retry. */
export async function startDrain(
  deps: Deps,
  config: DrainerConfig,
  work: LifecycleWork,
  delivery?: Delivery,
): Promise<StartResult> {
  const [settled] = await startDrains(deps, config, [{ work, delivery }]);
  if (settled === undefined || settled.status === 'rejected') throw settled?.reason;
  return settled.value;
}

/**
 * Handles the terminate lifecycle actions of one batch: each is checked on its own (warm pool, late, duplicate,
 * expired), then those to send go out together, one SendCommand per batch of planBatches. Never throws: each
 * request's result, or the AWS failure Lambda should retry it for, in the order of `requests`.
 */
export async function startDrains(
  deps: Deps,
  config: DrainerConfig,
  requests: readonly StartRequest[],
): Promise<PromiseSettledResult<StartResult>[]> {
  const checked = await Promise.allSettled(
    requests.map(({ work, delivery }) => checkStart(prepareStart(deps, config, work), delivery)),
  );
  const results: PromiseSettledResult<StartResult>[] = [];
  const toSend: { index: number; start: Start }[] = [];
  for (const [index, settled] of checked.entries()) {
    if (settled.status === 'fulfilled' && typeof settled.value !== 'string')
      toSend.push({ index, start: settled.value });
    else results[index] = settled as PromiseSettledResult<StartResult>;
  }
  const batches = planBatches(toSend.map(({ start }) => start.params));
  await Promise.all(
    batches.map(async (batch) => {
      const members = batch.map((at) => toSend[at] as { index: number; start: Start });
      const sent = await sendBatch(
        deps,
        members.map(({ start }) => start),
      );
      for (const [at, { index }] of members.entries())
        results[index] = sent[at] as PromiseSettledResult<StartResult>;
    }),
  );
  return results;
}

/** The checks before sending: a result when there is nothing to send, else the start to send. */
async function checkStart(start: Start, delivery: Delivery | undefined): Promise<StartResult | Start> {
  const { deps, config, work } = start;
  const nowMs = deps.now();
  if (await leavesStoppedWarmPool(start)) return 'skipped';
  if (hasInvalidParameter(start)) return 'invalid';
  if (await isActionOver(start, nowMs)) return 'action-over';
  if (mayBeDuplicate(config, work, delivery)) {
    const found = await findExistingDrain(start);
    if (found !== undefined) return found;
  }
  if (nowMs >= work.eventTimeMs + config.maxDrainMs) {
    await completeWithoutCommand(start, {
      outcome: 'expired',
      reason: 'lifecycle event arrived after its deadline',
      young: false,
    });
    return 'expired';
  }
  return start;
}

/**
 * Sends one command for a batch of starts and announces each. SendCommand refuses the whole call when any of
 * its instances is unreachable (InvalidInstanceId: API_SendCommand.html), so a refused batch is sent again in
 * halves until the refused instances stand alone; each of those waits out its own unreachable grace, then is
 * completed `unreachable`, and its batch-mates are drained meanwhile. Settled per start, in order.
 */
async function sendBatch(deps: Deps, starts: readonly Start[]): Promise<PromiseSettledResult<StartResult>[]> {
  const [only] = starts;
  if (starts.length === 1 && only !== undefined) return Promise.allSettled([sendAndAnnounce(only)]);
  const params = batchParameters(starts.map((start) => start.params));
  let commandId: string;
  try {
    commandId = await deps.ssm.sendDrainCommand(params);
  } catch (error) {
    if (!(error instanceof InstanceUnreachableError))
      return starts.map(() => ({ status: 'rejected', reason: error }));
    deps.log.warn('SSM refused a batched start (an instance is unreachable); sending it in halves', {
      autoScalingGroupName: params.autoScalingGroupName,
      instances: starts.length,
      error: describeError(error),
    });
    const half = Math.ceil(starts.length / 2);
    const halves = await Promise.all([
      sendBatch(deps, starts.slice(0, half)),
      sendBatch(deps, starts.slice(half)),
    ]);
    return halves.flat();
  }
  return Promise.allSettled(
    starts.map(async (start) => {
      // The tick counts heartbeat slots from the command's deadline: the batch's, maybe earlier than this
      // drain's own, so its late-start heartbeat is judged from there too.
      const batchStartMs = Date.parse(params.deadline) - start.config.maxDrainMs;
      const member = {
        ...start,
        work: { ...start.work, eventTimeMs: Math.min(start.work.eventTimeMs, batchStartMs) },
        params: { ...start.params, deadline: params.deadline },
      };
      await announceStart(deps, { action: member.action, params: member.params, commandId, adopted: false });
      const sent = { commandId, requestedMs: deps.now(), status: 'Pending', params: member.params };
      await heartbeatIfLate(member, sent);
      return 'started' as const;
    }),
  );
}

function prepareStart(deps: Deps, config: DrainerConfig, work: LifecycleWork): Start {
  const action: LifecycleActionRef = {
    groupName: work.groupName,
    hookName: work.hookName,
    instanceId: work.instanceId,
    token: work.token,
  };
  const params: SentDrainParameters = {
    drainId: work.token,
    deadline: formatDeadline(work.eventTimeMs + config.maxDrainMs),
    instanceId: work.instanceId,
    autoScalingGroupName: work.groupName,
    lifecycleHookName: work.hookName,
    action: 'drain',
  };
  return { deps, config, work, action, keys: drainKeys(action, work.token), params };
}

/** Completes the action without a command (skipped, expired, unreachable), timed from the event. */
async function completeWithoutCommand(
  { deps, config, work, action }: Start,
  end: { outcome: 'skipped' | 'expired' | 'unreachable'; reason: string; young: boolean },
): Promise<void> {
  await completeDrain(deps, config, {
    action,
    drainId: work.token,
    commandId: null,
    outcome: end.outcome,
    reason: end.reason,
    startedMs: work.eventTimeMs,
    young: end.young,
  });
}

/**
 * An instance leaving a stopped or hibernated warm pool: SSM cannot reach it, nothing runs on it, complete
 * as skipped. One leaving a running pool is drained; so is one whose pool the role cannot read (a logged
 * configuration error): SendCommand tells a stopped host.
 */
async function leavesStoppedWarmPool(start: Start): Promise<boolean> {
  const { deps, work, keys } = start;
  if (work.origin !== 'WarmPool') return false;
  const poolState = await deps.autoScaling.warmPoolState(work.groupName).catch((error: unknown) => {
    if (!(error instanceof LifecycleConfigError)) throw error;
    deps.log.error('CONFIGURATION ERROR: cannot read the warm pool; draining', {
      ...keys,
      error: describeError(error),
    });
    deps.metrics.count('ConfigErrors');
    return undefined;
  });
  if (!isStoppedPoolState(poolState)) return false;
  const reason = `instance comes from a warm pool of ${poolState} instances`;
  await completeWithoutCommand(start, { outcome: 'skipped', reason, young: true });
  return true;
}

function hasInvalidParameter({ deps, keys, params }: Start): boolean {
  const invalid = findInvalidParameter(params);
  if (invalid === undefined) return false;
  deps.log.error('drain parameter does not match the document pattern; not sending', {
    ...keys,
    parameter: invalid,
  });
  return true;
}

/**
 * A late event (older than H/2) whose instance is no longer terminating belongs to an action that is over
 * (completed, timed out, the instance gone or back in service). A younger event skips the lookup: nothing
 * can have ended its action yet, and a mass scale-in then spends no Auto Scaling budget on lookups.
 */
async function isActionOver({ deps, config, work, keys }: Start, nowMs: number): Promise<boolean> {
  if (nowMs - work.eventTimeMs < config.heartbeatTimeoutMs / 2) return false;
  const [state] = await deps.autoScaling.describeInstances([work.instanceId]);
  if (mayHaveActiveAction(state?.lifecycleState)) return false;
  deps.log.info('instance is no longer terminating; not draining', {
    ...keys,
    lifecycleState: state?.lifecycleState,
  });
  return true;
}

/**
 * A drain that already owns this action (SSM has no idempotency token): a command carrying this token, an
 * adoption sent after the event, or any running lifecycle drain on the instance. A late event, or a
 * retry after SendCommand, still owes the action the heartbeat a late start gives it.
 */
async function findExistingDrain(start: Start): Promise<StartResult | undefined> {
  const { deps, work, keys } = start;
  const existing = (
    await deps.ssm.listCommands({
      instanceId: work.instanceId,
      invokedAfterMs: work.eventTimeMs - CLOCK_SKEW_MS,
    })
  )
    .flatMap(toDrainCommands)
    .filter((command) => command.params.instanceId === work.instanceId);
  const own = existing.find((command) => command.params.drainId === work.token);
  if (own !== undefined) {
    deps.log.info('drain command already sent for this token; nothing to do', keys);
    await heartbeatIfLate(start, own);
    return 'duplicate';
  }
  const adopted = existing.find(
    (command) => isAdoptedDrainId(command.params.drainId) && command.requestedMs >= work.eventTimeMs,
  );
  if (adopted !== undefined) {
    deps.log.info('instance was adopted by the reconciler; nothing to do', {
      ...keys,
      adoptedDrainId: adopted.params.drainId,
    });
    await heartbeatIfLate(start, adopted);
    return 'already-adopted';
  }
  // An EC2-notice drain owns no action: this event still sends its own command, which the agent joins.
  const running = existing.find(
    (command) => !isTerminalStatus(command.status) && isLifecycleDrainId(command.params.drainId),
  );
  if (running === undefined) return undefined;
  deps.log.info('another drain command is running on the instance; treating it as this drain', {
    ...keys,
    runningDrainId: running.params.drainId,
    runningCommandId: running.commandId,
  });
  await heartbeatIfLate(start, running);
  return 'already-draining';
}

/** Sends the drain command (completing as unreachable if it never gets through), announces it, heartbeats if late. */
async function sendAndAnnounce(start: Start): Promise<StartResult> {
  const { deps, config, action, params, keys } = start;
  const commandId = await sendWithinGrace(deps, config, params, keys);
  if (commandId === undefined) {
    const reason = `SSM could not reach the instance within ${config.unreachableGraceMs / 1000} s (InvalidInstanceId)`;
    await completeWithoutCommand(start, { outcome: 'unreachable', reason, young: true });
    return 'unreachable';
  }
  await announceStart(deps, { action, params, commandId, adopted: false });
  await heartbeatIfLate(start, { commandId, requestedMs: deps.now(), status: 'Pending', params });
  return 'started';
}

/**
 * The action's heartbeat timeout runs from the event, and the reconciler's heartbeat slots are counted from
 * it too; a command sent late may miss the first tick of its slot (decide/heartbeat-schedule.ts): heartbeat now.
 */
async function heartbeatIfLate({ deps, config, action, work }: Start, command: DrainCommand): Promise<void> {
  const phaseMs = drainPhaseMs(command.params.drainId, config);
  const nowMs = deps.now();
  if (!isStartHeartbeatDue(work.eventTimeMs, nowMs, config, phaseMs)) return;
  const beat = await heartbeatOrCancel(deps, action, command, { young: true });
  if (beat === 'heartbeat') deps.metrics.count('Heartbeats');
}
