// Finish: a drain command reached a terminal status → read its result, complete the lifecycle action,
// emit `Fleet Drain Finished`. Used by the status-change event and by the reconciler for lost events.

import type { Deps } from '../aws/ports';
import type { DrainerConfig } from '../config';
import { type CommandStatusWork, documentBaseName } from '../decide/classify-event';
import { readCommandComment, toDrainCommand } from '../decide/drain-command';
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
