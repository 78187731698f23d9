// Start on an EC2 notice: a Spot interruption warning or a rebalance recommendation for an instance of a
// configured group → one drain command at once. No lifecycle action is involved: nothing is heartbeated or
// completed for it; a terminate lifecycle action that follows gets its own command, which the agent joins.

import { findInvalidParameter } from '../../agent/policy/drain-parameters';
import { describeError } from '../../common/errors';
import { LifecycleConfigError } from '../aws/errors';
import type { Deps, InstanceState, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { InstanceNoticeWork } from '../decide/classify-event';
import {
  formatDeadline,
  type LifecycleActionRef,
  noticeAction,
  noticeDeadlineMs,
  noticeDrainId,
  type SentDrainParameters,
  toDrainCommands,
} from '../decide/drain-command';
import type { Delivery } from '../sqs-batch';
import { announceStart, CLOCK_SKEW_MS, drainKeys, mayBeDuplicate, sendWithinGrace } from './drain-actions';

export type NoticeResult =
  | 'started'
  | 'ignored'
  | 'not-ours'
  | 'duplicate'
  | 'too-late'
  | 'unreachable'
  | 'invalid'
  | 'config-error';

/** Handles one EC2 notice. Throws only AWS failures that Lambda (or SQS) should retry. */
export async function startNoticeDrain(
  deps: Deps,
  config: DrainerConfig,
  work: InstanceNoticeWork,
  delivery?: Delivery,
): Promise<NoticeResult> {
  const keys: LogKeys = { instanceId: work.instanceId, trigger: work.trigger };
  const action = noticeAction(work, config);
  if (action === undefined) {
    deps.log.debug('rebalance recommendation ignored (configured so)', keys);
    return 'ignored';
  }
  const deadlineMs = noticeDeadlineMs(work, config);
  if (deps.now() >= deadlineMs) {
    deps.log.info('EC2 notice arrived after its drain deadline; not draining', keys);
    return 'too-late';
  }
  // The event names no group: ask Auto Scaling (instances of other groups, or none, are not ours).
  let state: InstanceState | undefined;
  try {
    [state] = await deps.autoScaling.describeInstances([work.instanceId]);
  } catch (error) {
    if (!(error instanceof LifecycleConfigError)) throw error;
    deps.log.error('CONFIGURATION ERROR: cannot describe the instance; not draining', {
      ...keys,
      error: describeError(error),
    });
    deps.metrics.count('ConfigErrors');
    return 'config-error';
  }
  if (state === undefined || !config.groupNames.has(state.groupName)) {
    deps.log.debug('EC2 notice for an instance of no configured group; ignored', {
      ...keys,
      autoScalingGroupName: state?.groupName,
    });
    return 'not-ours';
  }
  const params: SentDrainParameters = {
    drainId: noticeDrainId(work.trigger, work.instanceId, work.eventTimeMs),
    deadline: formatDeadline(deadlineMs),
    instanceId: work.instanceId,
    autoScalingGroupName: state.groupName,
    lifecycleHookName: config.hookName,
    action,
  };
  return sendNotice(deps, config, { work, params, delivery });
}

/** Sends the notice's command unless it is already listed, and announces it. */
async function sendNotice(
  deps: Deps,
  config: DrainerConfig,
  { work, params, delivery }: { work: InstanceNoticeWork; params: SentDrainParameters; delivery?: Delivery },
): Promise<NoticeResult> {
  const ref: LifecycleActionRef = {
    groupName: params.autoScalingGroupName,
    hookName: params.lifecycleHookName,
    instanceId: params.instanceId,
    token: undefined,
  };
  const keys = { ...drainKeys(ref, params.drainId), action: params.action };
  const invalid = findInvalidParameter(params);
  if (invalid !== undefined) {
    deps.log.error('drain parameter does not match the document pattern; not sending', {
      ...keys,
      parameter: invalid,
    });
    return 'invalid';
  }
  if (mayBeDuplicate(config, work, delivery) && (await isListed(deps, work, params.drainId))) {
    deps.log.info('drain command already sent for this notice; nothing to do', keys);
    return 'duplicate';
  }
  const commandId = await sendWithinGrace(deps, config, params, keys);
  if (commandId === undefined) {
    deps.log.warn('SSM could not reach the instance; not draining', keys);
    return 'unreachable';
  }
  await announceStart(deps, { action: ref, params, commandId, adopted: false });
  return 'started';
}

/** Whether a command of this drain id is in SSM's history already (a redelivered or late event). */
async function isListed(deps: Deps, work: InstanceNoticeWork, drainId: string): Promise<boolean> {
  const listed = await deps.ssm.listCommands({
    instanceId: work.instanceId,
    invokedAfterMs: work.eventTimeMs - CLOCK_SKEW_MS,
  });
  return listed
    .flatMap(toDrainCommands)
    .some((command) => command.params.drainId === drainId && command.params.instanceId === work.instanceId);
}
