// Finish: a drain command reached a terminal status → read its result, complete the lifecycle action,
// emit `Fleet Drain Finished`. Used by the status-change event and by the reconciler for lost events.

import { isTerminalStatus } from './command-status';
import { type CompletionResult, completeDrain, drainKeys, PROPAGATION_WINDOW_MS } from './complete-drain';
import type { DrainerConfig } from './config';
import { decideOutcome, type InvocationResult } from './decide-outcome';
import { type DrainCommand, lifecycleActionOf, toDrainCommand } from './drain-command';
import { InvocationNotFoundError } from './errors';
import { actionStartMs, finishedDrainWindowMs } from './plan-tick';
import type { Deps } from './ports';
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
 * nothing is completed, and the reconciler treats the instance as an adoption candidate.
 */
export type FinishResult = CompletionResult | 'not-found' | 'not-ours' | 'not-terminal' | 'stale';

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

/** Finishes the drain of the command `commandId` on `instanceId` (from a status-change event). */
export async function finishCommandById(
  deps: Deps,
  config: DrainerConfig,
  commandId: string,
  instanceId: string,
): Promise<FinishResult> {
  // GetCommandInvocation does not return parameters; the command's listing does (token, group, hook).
  const command = await lookUp(deps, async () => {
    const listed = await deps.ssm.listCommands({ commandId });
    return listed.map(toDrainCommand).find((found) => found?.commandId === commandId);
  });
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
  // A duplicate event may have sent a second command of the same drain (the agent joins them): the drain is
  // over only when all of them are. The last one's status event (or the reconciler) finishes it.
  const siblings = (
    await deps.ssm.listCommands({
      instanceId,
      invokedAfterMs: actionStartMs(command, config) - CLOCK_SKEW_MS,
    })
  )
    .map(toDrainCommand)
    .filter(
      (sibling) =>
        sibling !== undefined &&
        sibling.commandId !== command.commandId &&
        sibling.params.instanceId === instanceId &&
        sibling.params.drainId === command.params.drainId &&
        !isTerminalStatus(sibling.status),
    );
  if (siblings.length > 0) {
    deps.log.info('another command of the same drain still runs; finishing when it ends', {
      ...drainKeys(lifecycleActionOf(command.params), command.params.drainId, commandId),
      running: siblings.map((sibling) => sibling?.commandId),
    });
    return 'not-terminal';
  }
  return finishCommand(deps, config, command, true);
}

/**
 * Finishes the drain of a listed command whose status is terminal. `eventSaidTerminal`: a status event said
 * so, and GetCommandInvocation may lag it: a non-terminal answer is asked again within the lookup bound.
 */
export async function finishCommand(
  deps: Deps,
  config: DrainerConfig,
  command: DrainCommand,
  eventSaidTerminal = false,
): Promise<FinishResult> {
  const action = lifecycleActionOf(command.params);
  const keys = drainKeys(action, command.params.drainId, command.commandId);
  if (!config.groupNames.has(action.groupName) || action.hookName !== config.hookName) {
    deps.log.warn('drain command for a group or hook that is not configured; ignored', keys);
    return 'not-ours';
  }
  let lastSeen: InvocationResult | undefined;
  const invocation: InvocationResult | undefined =
    (await lookUp(deps, async () => {
      lastSeen = await deps.ssm.getInvocation(command.commandId, action.instanceId);
      return eventSaidTerminal && !isTerminalStatus(lastSeen.status) ? undefined : lastSeen;
    })) ?? lastSeen;
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
    nowMs - invocation.endedMs > finishedDrainWindowMs(command.params.drainId, config)
  ) {
    deps.log.info('drain command ended too long ago to own the current lifecycle action; not completing', {
      ...keys,
      endedAt: new Date(invocation.endedMs).toISOString(),
    });
    return 'stale';
  }
  const decision = decideOutcome(invocation, command.params.drainId);
  return completeDrain(deps, config, {
    action,
    drainId: command.params.drainId,
    commandId: command.commandId,
    outcome: decision.outcome,
    reason: decision.reason,
    startedMs: command.requestedMs,
    young: deps.now() - command.requestedMs < PROPAGATION_WINDOW_MS,
    invocation,
    ...(decision.report !== undefined ? { report: decision.report } : {}),
  });
}
