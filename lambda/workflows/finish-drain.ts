// Finish: a drain command reached a terminal status → read its result, complete the lifecycle action,
// emit `Fleet Drain Finished`. Used by the status-change event and by the reconciler for lost events.

import type { DrainParameters } from '../../agent/drain-parameters';
import { InvocationNotFoundError } from '../aws/errors';
import type { Deps } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { CommandStatusWork } from '../decide/classify-event';
import { documentBaseName } from '../decide/classify-event';
import { isTerminalStatus } from '../decide/command-status';
import { lifecycleActionOf, readCommandComment, toDrainCommand } from '../decide/drain-command';
import { decideOutcome, drainIsOver, type InvocationResult } from '../decide/outcome';
import { finishedDrainWindowMs } from '../decide/plan-tick';
import { type CompletionResult, completeDrain, drainKeys, PROPAGATION_WINDOW_MS } from './drain-actions';
import { CLOCK_SKEW_MS } from './start-drain';

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
async function lookUp<T>(deps: Deps, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
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
async function getInvocation(
  deps: Deps,
  commandId: string,
  instanceId: string,
  eventSaidTerminal: boolean,
): Promise<InvocationResult | undefined> {
  let lastSeen: InvocationResult | undefined;
  return (
    (await lookUp(deps, async () => {
      lastSeen = await deps.ssm.getInvocation(commandId, instanceId);
      return eventSaidTerminal && !isTerminalStatus(lastSeen.status) ? undefined : lastSeen;
    })) ?? lastSeen
  );
}

/** Finishes the drain of the command a status-change event is about. */
export async function finishCommandById(
  deps: Deps,
  config: DrainerConfig,
  work: Pick<CommandStatusWork, 'commandId' | 'instanceId' | 'requestedMs'>,
  /** When the event reached the queue (SQS SentTimestamp), when it came through one. */
  eventSentMs?: number,
): Promise<FinishResult> {
  const { commandId, instanceId } = work;
  const invocation = await getInvocation(deps, commandId, instanceId, true);
  if (invocation === undefined) {
    deps.log.warn('command invocation not found; the reconciler will retry', { commandId, instanceId });
    return 'not-found';
  }
  if (
    invocation.documentName !== undefined &&
    documentBaseName(invocation.documentName) !== documentBaseName(config.documentName)
  ) {
    deps.log.warn('status event for a command of another document', { commandId, instanceId });
    return 'not-ours';
  }
  // The comment names the drain; GetCommandInvocation does not return parameters.
  const named = readCommandComment(invocation.comment, config.groupNames);
  let command: FinishableCommand | undefined;
  if (named !== undefined) {
    command = {
      commandId,
      requestedMs: work.requestedMs ?? invocation.startedMs ?? deps.now(),
      params: {
        drainId: named.drainId,
        instanceId,
        autoScalingGroupName: named.groupName,
        lifecycleHookName: config.hookName,
      },
    };
  } else {
    // A command sent by an earlier version (its comment names no drain), or not ours: its listing says.
    command = await lookUp(deps, async () => {
      const listed = await deps.ssm.listCommands({ commandId });
      return listed.map(toDrainCommand).find((found) => found?.commandId === commandId);
    });
  }
  if (command === undefined) {
    deps.log.warn('drain command not found (or not ours); the reconciler will retry', {
      commandId,
      instanceId,
    });
    return 'not-found';
  }
  if (command.params.instanceId !== instanceId) {
    deps.log.warn('status event for an instance the command was not sent to', { commandId, instanceId });
    return 'not-ours';
  }
  return finishCommand(deps, config, command, {
    invocation,
    checkSiblings: true,
    ...(eventSentMs !== undefined ? { eventSentMs } : {}),
  });
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
    (await getInvocation(deps, command.commandId, action.instanceId, options.eventSaidTerminal ?? false));
  if (invocation === undefined) {
    deps.log.warn('command invocation not found; the reconciler will retry', keys);
    return 'not-found';
  }
  if (!isTerminalStatus(invocation.status)) {
    deps.log.info('command invocation is not finished yet', { ...keys, status: invocation.status });
    return 'not-terminal';
  }
  // Warm-pool reuse: a drain of an earlier life of this instance must not complete the current action.
  const nowMs = deps.now();
  if (
    invocation.endedMs !== undefined &&
    (options.eventSentMs ?? nowMs) - invocation.endedMs >
      finishedDrainWindowMs(command.params.drainId, config)
  ) {
    deps.log.info('drain command ended too long ago to own the current lifecycle action; not completing', {
      ...keys,
      endedAt: new Date(invocation.endedMs).toISOString(),
    });
    return 'stale';
  }
  if (
    options.endedAtLeastMsAgo !== undefined &&
    invocation.endedMs !== undefined &&
    nowMs - invocation.endedMs < options.endedAtLeastMsAgo
  ) {
    return 'too-recent';
  }
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
    .map(toDrainCommand)
    .some(
      (sibling) =>
        sibling !== undefined &&
        sibling.commandId !== command.commandId &&
        sibling.params.instanceId === instanceId &&
        sibling.params.drainId === drainId &&
        !isTerminalStatus(sibling.status),
    );
}
