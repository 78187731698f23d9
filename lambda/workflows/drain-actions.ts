// Ends a drain: completes the lifecycle action, then (only then) reports it. Every completion goes through
// here, so each lifecycle action is completed explicitly and `Fleet Drain Finished` is emitted by whoever
// actually completed it — a second completer gets "No active Lifecycle Action" and stays silent.

import type { DrainParameters } from '../../agent/policy/drain-parameters';
import type { DrainReport } from '../../agent/report/report';
import { describeError } from '../../common/errors';
import {
  InstanceUnreachableError,
  InvocationNotFoundError,
  LifecycleConfigError,
  NoActiveLifecycleActionError,
} from '../aws/errors';
import type { Deps, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import { isTerminalStatus } from '../decide/command-status';
import {
  type DrainCommand,
  isAdoptedDrainId,
  isLifecycleDrainId,
  type LifecycleActionRef,
  lifecycleActionOf,
  type SentDrainParameters,
  toDrainCommands,
  triggerOfDrainId,
} from '../decide/drain-command';
import {
  FINISHED_DETAIL_TYPE,
  type FinishedDetail,
  outputExcerpt,
  STARTED_DETAIL_TYPE,
  type StartedDetail,
} from '../decide/drain-events';
import { mayHaveActiveAction } from '../decide/lifecycle-state';
import {
  decideOutcome,
  decideResult,
  drainIsOver,
  type InvocationResult,
  type LifecycleActionResult,
  type Outcome,
} from '../decide/outcome';
import { finishedDrainWindowMs } from '../decide/plan-tick';
import type { Delivery } from '../sqs-batch';

/** Right after an event, "No active Lifecycle Action" can be a propagation race: retry this often… */
export const PROPAGATION_RETRY_MS = 2000;
/** …at most this many times, and only while the instance is still terminating. */
export const PROPAGATION_RETRIES = 3;
/** An action younger than this may not be visible everywhere yet. */
export const PROPAGATION_WINDOW_MS = 120_000;
/** Clocks of EventBridge, SSM and Lambda differ a little; commands are looked up from this before the event. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface Completion {
  action: LifecycleActionRef;
  drainId: string;
  commandId: string | null;
  outcome: Outcome;
  reason: string;
  /** When the drain started (command requested, or lifecycle event for skipped/unreachable). */
  startedMs: number;
  /** The action is moments old: retry "No active Lifecycle Action" while the instance is still terminating. */
  young: boolean;
  invocation?: InvocationResult;
  report?: DrainReport;
}

/**
 * `completed` by this call; `gone` when the action was already over; `config-error` when AWS refused the
 * names; `reported`: an EC2-notice drain, which has no lifecycle action of its own, was reported finished.
 */
export type CompletionResult = 'completed' | 'gone' | 'config-error' | 'reported';

/** Log keys of a drain. */
export function drainKeys(action: LifecycleActionRef, drainId: string, commandId?: string | null): LogKeys {
  return {
    instanceId: action.instanceId,
    autoScalingGroupName: action.groupName,
    drainId,
    ...(commandId ? { commandId } : {}),
  };
}

/** Calls `act` on the lifecycle action, retrying a young action's "No active" while the instance is terminating. */
export async function withPropagationRetry(
  deps: Deps,
  { action, young }: { action: LifecycleActionRef; young: boolean },
  act: () => Promise<void>,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await act();
      return;
    } catch (error) {
      if (!(error instanceof NoActiveLifecycleActionError) || !young || attempt >= PROPAGATION_RETRIES)
        throw error;
      const [state] = await deps.autoScaling.describeInstances([action.instanceId]);
      if (!mayHaveActiveAction(state?.lifecycleState)) throw error;
      await deps.sleep(PROPAGATION_RETRY_MS);
    }
  }
}

/** Completes the lifecycle action of a drain with the policy's result, then emits `Fleet Drain Finished`. */
export async function completeDrain(
  deps: Deps,
  config: DrainerConfig,
  completion: Completion,
): Promise<CompletionResult> {
  // An EC2-notice drain owns no lifecycle action: completing by instance id could end another drain's.
  if (!isLifecycleDrainId(completion.drainId)) {
    await reportFinished(deps, completion, { result: null, uncertain: false });
    return 'reported';
  }
  const result = decideResult(completion.outcome, config.resultPolicy);
  const completed = await completeAction(deps, completion, result);
  if (completed === 'gone' || completed === 'config-error') return completed;
  await reportFinished(deps, completion, { result, uncertain: completed === 'uncertain' });
  return 'completed';
}

/**
 * CompleteLifecycleAction, retried while a young action may not be visible yet. `uncertain`: the very first
 * call's response was lost and the SDK's retry found the action over, so our own first attempt most likely
 * completed it: reported (flagged) rather than left unreported.
 */
async function completeAction(
  deps: Deps,
  completion: Completion,
  result: LifecycleActionResult,
): Promise<'completed' | 'uncertain' | 'gone' | 'config-error'> {
  const { action, outcome } = completion;
  const keys = drainKeys(action, completion.drainId, completion.commandId);
  let uncertain = false;
  let firstCall = true;
  try {
    await withPropagationRetry(deps, { action, young: completion.young }, async () => {
      const first = firstCall;
      firstCall = false;
      try {
        await deps.autoScaling.completeLifecycleAction(action, result);
      } catch (error) {
        if (!(first && error instanceof NoActiveLifecycleActionError && error.afterRetry)) throw error;
        uncertain = true;
      }
    });
  } catch (error) {
    if (error instanceof NoActiveLifecycleActionError) {
      deps.log.info('lifecycle action already over; nothing to complete', { ...keys, outcome });
      return 'gone';
    }
    if (!(error instanceof LifecycleConfigError)) throw error;
    deps.log.error(
      'CONFIGURATION ERROR: Auto Scaling refused the lifecycle action; check group and hook names',
      {
        ...keys,
        error: describeError(error),
      },
    );
    deps.metrics.count('ConfigErrors');
    return 'config-error';
  }
  if (!uncertain) return 'completed';
  deps.log.warn('completion response lost; the SDK retry found the action over (taken as ours)', keys);
  return 'uncertain';
}

/**
 * Logs, counts and emits `Fleet Drain Finished` for a completed action. The completion stays done: a failed
 * event is logged, never retried by failing the invocation.
 */
async function reportFinished(
  deps: Deps,
  completion: Completion,
  { result, uncertain }: { result: LifecycleActionResult | null; uncertain: boolean },
): Promise<void> {
  const { action, drainId, commandId, outcome, invocation, report } = completion;
  const keys = drainKeys(action, drainId, commandId);
  const trigger = triggerOfDrainId(drainId);
  const durationMs = Math.max(0, deps.now() - completion.startedMs);
  deps.log.info('drain finished', {
    ...keys,
    outcome,
    lifecycleActionResult: result,
    durationMs,
    reason: completion.reason,
    trigger,
  });
  deps.metrics.count('DrainsFinished', 1, outcome, trigger);
  deps.metrics.milliseconds('DrainDuration', durationMs, outcome);
  if (outcome === 'unreachable') deps.metrics.count('Unreachable');
  const detail: FinishedDetail = {
    instanceId: action.instanceId,
    autoScalingGroupName: action.groupName,
    lifecycleHookName: action.hookName,
    lifecycleActionToken: action.token ?? null,
    drainId,
    commandId,
    outcome,
    lifecycleActionResult: result,
    durationMs,
    reason: completion.reason,
    adopted: isAdoptedDrainId(drainId),
    trigger,
    commandStatus: invocation?.status ?? null,
    exitCode: invocation?.responseCode ?? null,
    report: report ?? null,
    output: report === undefined && invocation ? outputExcerpt(invocation.stdout, invocation.stderr) : null,
    ...(uncertain ? { completionUncertain: true as const } : {}),
  };
  try {
    await deps.events.putEvent(FINISHED_DETAIL_TYPE, { ...detail });
  } catch (error) {
    deps.log.error('could not emit Fleet Drain Finished', { ...keys, error: describeError(error) });
  }
}

/** Logs, counts and emits `Fleet Drain Started` (an event failure is logged, never fatal). */
export async function announceStart(
  deps: Deps,
  start: { action: LifecycleActionRef; params: DrainParameters; commandId: string; adopted: boolean },
): Promise<void> {
  const { action, params, commandId, adopted } = start;
  const keys = drainKeys(action, params.drainId, commandId);
  const trigger = triggerOfDrainId(params.drainId);
  deps.log.info(adopted ? 'drain started (adopted instance)' : 'drain started', {
    ...keys,
    deadline: params.deadline,
    trigger,
  });
  deps.metrics.count('DrainsStarted', 1, undefined, trigger);
  const detail: StartedDetail = {
    instanceId: action.instanceId,
    autoScalingGroupName: action.groupName,
    lifecycleHookName: action.hookName,
    lifecycleActionToken: action.token ?? null,
    drainId: params.drainId,
    commandId,
    deadline: params.deadline,
    adopted,
    trigger,
  };
  try {
    await deps.events.putEvent(STARTED_DETAIL_TYPE, { ...detail });
  } catch (error) {
    deps.log.error('could not emit Fleet Drain Started', { ...keys, error: describeError(error) });
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
  { young }: { young: boolean },
): Promise<'heartbeat' | 'gone'> {
  const keys = drainKeys(action, command.params.drainId, command.commandId);
  try {
    await withPropagationRetry(deps, { action, young }, () => deps.autoScaling.recordHeartbeat(action));
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

/**
 * Right after a command is sent, GetCommandInvocation and ListCommands may not know it yet (AWS's own waiter
 * retries every 5 s, 20 times). A status event comes later than that in practice, so a shorter bound is
 * enough here; whatever is still missing after it is left to the reconciler.
 */
export const LOOKUP_RETRY_MS = 3000;
export const LOOKUP_TIMEOUT_MS = 30_000;

/**
 * `stale`: the command ended so long ago that it cannot own a live lifecycle action (finishedDrainWindowMs):
 * nothing is completed, and the reconciler treats the instance as an adoption candidate. `too-recent`: the
 * reconciler asked to finish only a drain that ended a while ago (its status event may still be on its way).
 */
export type FinishResult =
  | CompletionResult
  | 'not-found'
  | 'not-ours'
  | 'not-terminal'
  | 'stale'
  | 'too-recent';

/** What finishing a drain needs to know of its command (the deadline is not needed). */
export interface FinishableCommand {
  commandId: string;
  requestedMs: number;
  params: Omit<DrainParameters, 'deadline'>;
}

export interface FinishOptions {
  /** A status event said the invocation ended: GetCommandInvocation may lag it, so ask again for a while. */
  eventSaidTerminal?: boolean;
  /** The invocation, when the caller already has it. */
  invocation?: InvocationResult;
  /**
   * Look for another command of the same drain still running when this one's end does not show the drain
   * is over (drainIsOver). The reconciler already knows every command of a drain and passes false.
   */
  checkSiblings?: boolean;
  /** Finish only a drain whose command ended at least this long ago (the reconciler, for lost events). */
  endedAtLeastMsAgo?: number;
  /**
   * When the status event was sent (it reached the queue): whether the command ended too long ago to own
   * the action is judged then, not after the event waited in a queue behind a storm of others.
   */
  eventSentMs?: number;
}

/** Retries `lookup` while it returns undefined or throws InvocationNotFoundError, up to LOOKUP_TIMEOUT_MS. */
export async function lookUp<T>(deps: Deps, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
  const startMs = deps.now();
  for (;;) {
    try {
      const found = await lookup();
      if (found !== undefined) return found;
    } catch (error) {
      if (!(error instanceof InvocationNotFoundError)) throw error;
    }
    if (deps.now() - startMs >= LOOKUP_TIMEOUT_MS) return undefined;
    await deps.sleep(LOOKUP_RETRY_MS);
  }
}

/** GetCommandInvocation, asked again while SSM does not know it yet or, after a status event, still says it runs. */
export async function getInvocation(
  deps: Deps,
  {
    commandId,
    instanceId,
    eventSaidTerminal,
  }: { commandId: string; instanceId: string; eventSaidTerminal: boolean },
): Promise<InvocationResult | undefined> {
  let lastSeen: InvocationResult | undefined;
  return (
    (await lookUp(deps, async () => {
      lastSeen = await deps.ssm.getInvocation(commandId, instanceId);
      return eventSaidTerminal && !isTerminalStatus(lastSeen.status) ? undefined : lastSeen;
    })) ?? lastSeen
  );
}

/** Finishes the drain of a command whose status is terminal. */
export async function finishCommand(
  deps: Deps,
  config: DrainerConfig,
  command: FinishableCommand,
  options: FinishOptions = {},
): Promise<FinishResult> {
  const action = lifecycleActionOf(command.params);
  const keys = drainKeys(action, command.params.drainId, command.commandId);
  if (!config.groupNames.has(action.groupName) || action.hookName !== config.hookName) {
    deps.log.warn('drain command for a group or hook that is not configured; ignored', keys);
    return 'not-ours';
  }
  const invocation =
    options.invocation ??
    (await getInvocation(deps, {
      commandId: command.commandId,
      instanceId: action.instanceId,
      eventSaidTerminal: options.eventSaidTerminal ?? false,
    }));
  if (invocation === undefined) {
    deps.log.warn('command invocation not found; the reconciler will retry', keys);
    return 'not-found';
  }
  if (!isTerminalStatus(invocation.status)) {
    deps.log.info('command invocation is not finished yet', { ...keys, status: invocation.status });
    return 'not-terminal';
  }
  const nowMs = deps.now();
  const timing = endTiming(config, command, invocation, { ...options, nowMs });
  if (timing === 'stale') {
    deps.log.info('drain command ended too long ago to own the current lifecycle action; not completing', {
      ...keys,
      endedAt: new Date(invocation.endedMs as number).toISOString(),
    });
    return 'stale';
  }
  if (timing === 'too-recent') return 'too-recent';
  const decision = decideOutcome(invocation, command.params.drainId);
  if (options.checkSiblings && !drainIsOver(decision) && (await siblingRuns(deps, config, command))) {
    deps.log.info('another command of the same drain still runs; finishing when it ends', keys);
    return 'not-terminal';
  }
  return completeDrain(deps, config, {
    action,
    drainId: command.params.drainId,
    commandId: command.commandId,
    outcome: decision.outcome,
    reason: decision.reason,
    startedMs: command.requestedMs,
    young: nowMs - command.requestedMs < PROPAGATION_WINDOW_MS,
    invocation,
    ...(decision.report !== undefined ? { report: decision.report } : {}),
  });
}

/**
 * `stale`: the command ended too long ago to own the current action (warm-pool reuse: a drain of an earlier
 * life must not complete it). `too-recent`: it ended less than `endedAtLeastMsAgo` ago.
 */
function endTiming(
  config: DrainerConfig,
  command: FinishableCommand,
  invocation: InvocationResult,
  { nowMs, eventSentMs, endedAtLeastMsAgo }: FinishOptions & { nowMs: number },
): 'stale' | 'too-recent' | 'in-time' {
  const { endedMs } = invocation;
  if (endedMs === undefined) return 'in-time';
  if ((eventSentMs ?? nowMs) - endedMs > finishedDrainWindowMs(command.params.drainId, config))
    return 'stale';
  if (endedAtLeastMsAgo !== undefined && nowMs - endedMs < endedAtLeastMsAgo) return 'too-recent';
  return 'in-time';
}

/**
 * A duplicate event may have sent a second command of the same drain (the agent joins them): when this one
 * ended without showing the drain is over (undelivered, killed while it waited), the drain goes on while the
 * other runs, and the last one's status event (or the reconciler) finishes it. Every command of a drain was
 * sent between its lifecycle event and its deadline, so within the maximum drain time of this one.
 */
async function siblingRuns(deps: Deps, config: DrainerConfig, command: FinishableCommand): Promise<boolean> {
  const { instanceId, drainId } = command.params;
  const listed = await deps.ssm.listCommands({
    instanceId,
    invokedAfterMs: command.requestedMs - config.maxDrainMs - CLOCK_SKEW_MS,
  });
  return listed
    .flatMap(toDrainCommands)
    .some(
      (sibling) =>
        sibling.commandId !== command.commandId &&
        sibling.params.instanceId === instanceId &&
        sibling.params.drainId === drainId &&
        !isTerminalStatus(sibling.status),
    );
}

/** How often SendCommand is retried on InvalidInstanceId within the unreachable grace. */
export const UNREACHABLE_RETRY_MS = 5000;
/** Time kept, at the end of the grace, for completing the action as unreachable before Lambda's timeout. */
export const UNREACHABLE_RESERVE_MS = 30_000;

/**
 * Whether the event may be a duplicate of one already handled: a redelivery, an event that reached the
 * queue late (an adoption may have raced it: the reconciler adopts after its delay), or one that came
 * without SQS (a direct invocation: nothing is known of how it came).
 */
export function mayBeDuplicate(
  config: DrainerConfig,
  work: { eventTimeMs: number },
  delivery: Delivery | undefined,
): boolean {
  if (delivery === undefined || delivery.receiveCount > 1) return true;
  return delivery.sentMs - work.eventTimeMs > config.adoptionDelayMs / 2;
}

/** SendCommand, retried on InvalidInstanceId for the unreachable grace. Undefined when it never got through. */
export async function sendWithinGrace(
  deps: Deps,
  config: DrainerConfig,
  params: SentDrainParameters,
  keys: LogKeys,
): Promise<string | undefined> {
  const firstAttemptMs = deps.now();
  for (;;) {
    try {
      return await deps.ssm.sendDrainCommand(params);
    } catch (error) {
      if (!(error instanceof InstanceUnreachableError)) throw error;
      const remainingMs = firstAttemptMs + config.unreachableGraceMs - deps.now();
      deps.log.warn('instance unreachable through SSM', {
        ...keys,
        error: describeError(error),
        remainingMs,
      });
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
