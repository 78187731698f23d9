// Finish: a drain command reached a terminal status → read its result, complete the lifecycle action,
// emit `Fleet Drain Finished`. Used by the status-change event and by the reconciler for lost events.

import { isPlanComment } from '../../common/plan-output';
import type { Deps } from '../aws/ports';
import type { DrainerConfig } from '../config';
import { type CommandStatusWork, documentBaseName } from '../decide/classify-event';
import {
  type DrainCommand,
  readBatchComment,
  readCommandComment,
  toDrainCommands,
} from '../decide/drain-command';
import type { InvocationResult } from '../decide/outcome';
import {
  type FinishableCommand,
  type FinishResult,
  finishCommand,
  getInvocation,
  lookUp,
} from './drain-actions';

/** Finishes the drain of the command a status-change event is about. */
export async function finishCommandById(
  deps: Deps,
  config: DrainerConfig,
  work: Pick<CommandStatusWork, 'commandId' | 'instanceId' | 'requestedMs'>,
  /** When the event reached the queue (SQS SentTimestamp), when it came through one. */
  eventSentMs?: number,
): Promise<FinishResult> {
  const { commandId, instanceId } = work;
  const invocation = await getInvocation(deps, { commandId, instanceId, eventSaidTerminal: true });
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
  // An operator's `fleet-drainer plan`: it drained nothing, no lifecycle action waits on it.
  if (isPlanComment(invocation.comment)) {
    deps.log.info('status event for a plan command: nothing to finish', { commandId, instanceId });
    return 'not-ours';
  }
  const command = await commandOf(deps, config, work, invocation);
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

/**
 * The drain command a status event is about: its comment names the drain (GetCommandInvocation returns no
 * parameters); a batched start's names only its group, so its drains are read from its parameters, which
 * the SSM port remembers per command (one listing for a batch's 50 status events); a command sent by an
 * earlier version, or not ours, is read from its listing.
 */
async function commandOf(
  deps: Deps,
  config: DrainerConfig,
  work: Pick<CommandStatusWork, 'commandId' | 'instanceId' | 'requestedMs'>,
  invocation: InvocationResult,
): Promise<FinishableCommand | undefined> {
  const { commandId, instanceId } = work;
  const named = readCommandComment(invocation.comment, config.groupNames);
  if (named !== undefined) {
    return {
      commandId,
      requestedMs: work.requestedMs ?? invocation.startedMs ?? deps.now(),
      params: {
        drainId: named.drainId,
        instanceId,
        autoScalingGroupName: named.groupName,
        lifecycleHookName: config.hookName,
      },
    };
  }
  if (readBatchComment(invocation.comment, config.groupNames) !== undefined) {
    return lookUp(deps, async () => {
      const listed = await deps.ssm.readCommand(commandId);
      return listed === undefined ? undefined : drainOn(toDrainCommands(listed), commandId, instanceId);
    });
  }
  return lookUp(deps, async () => {
    const listed = await deps.ssm.listCommands({ commandId });
    return drainOn(listed.flatMap(toDrainCommands), commandId, instanceId);
  });
}

/** The command's drain on this instance; else any of its drains (the caller finds it not ours). */
function drainOn(drains: DrainCommand[], commandId: string, instanceId: string): DrainCommand | undefined {
  const ofCommand = drains.filter((drain) => drain.commandId === commandId);
  return ofCommand.find((drain) => drain.params.instanceId === instanceId) ?? ofCommand[0];
}
