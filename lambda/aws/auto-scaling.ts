// Edge: EC2 Auto Scaling calls. Translates SDK errors into our own classes; nothing else here decides.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CompleteLifecycleAction.html

import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { errorCode, errorMessage } from '../../common/errors';
import type { LifecycleActionRef } from '../decide/drain-command';
import type { LifecycleActionResult } from '../decide/outcome';
import { AwsCallError, LifecycleConfigError, NoActiveLifecycleActionError } from './errors';
import type { AutoScalingPort, InstanceState } from './ports';

/** DescribeAutoScalingGroups takes at most 100 names per call and 100 records per page; stay well within. */
const GROUP_NAMES_PER_CALL = 50;
const GROUPS_PAGE_SIZE = 100;
/** DescribeAutoScalingInstances: at most 50 instance ids and 50 records per call. */
const INSTANCES_PER_CALL = 50;
/** DescribeWarmPool: at most 50 records per call. */
const WARM_POOL_PAGE_SIZE = 50;

function translate(error: unknown, call: string): Error {
  const code = errorCode(error);
  const message = errorMessage(error);
  // Both "with token <uuid>" and "with instance ID <id>" forms; a wrong group or hook is also a
  // ValidationError, so the message decides.
  if (code === 'ValidationError' && /No active Lifecycle Action found/i.test(message)) {
    const noActive = new NoActiveLifecycleActionError(message, { cause: error });
    noActive.afterRetry = (error as Partial<AttemptRecord>)[EARLIER_ATTEMPT_UNKNOWN] === true;
    return noActive;
  }
  if (code === 'ValidationError') return new LifecycleConfigError(`${call}: ${message}`, { cause: error });
  // A missing permission is a configuration error (the role), not something a retry fixes.
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    return new LifecycleConfigError(`${call}: access denied: ${message}`, { cause: error });
  }
  return new AwsCallError(`${call} failed: ${code ?? 'Error'}: ${message}`, { cause: error });
}

/** HTTP 5xx: the server may or may not have done the work. */
const FIRST_SERVER_ERROR_STATUS = 500;

/** Marks an error that followed an attempt whose outcome is unknown (see recordAttemptOutcomes). */
const EARLIER_ATTEMPT_UNKNOWN = Symbol('earlierAttemptUnknown');
type AttemptRecord = { [EARLIER_ATTEMPT_UNKNOWN]: boolean };

/**
 * Per call, between the SDK's retries: was an earlier attempt's outcome unknown (no answer, or a 5xx)? Then
 * a final "No active Lifecycle Action" may be our own lost success. An attempt refused with a 4xx
 * (throttling above all) did nothing, so a retry after it that finds the action over found someone else's
 * completion: under a throttling storm that is the common case, and reporting it as ours would emit a
 * second `Fleet Drain Finished`.
 */
function recordAttemptOutcomes(client: AutoScalingClient): void {
  const name = 'fleetDrainerAttemptOutcomes';
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(name))) return;
  client.middlewareStack.add(
    (next) => {
      let unknown = false; // one closure per call: the stack is resolved for every send
      return async (args) => {
        try {
          return await next(args);
        } catch (error) {
          if (unknown && typeof error === 'object' && error !== null)
            (error as AttemptRecord)[EARLIER_ATTEMPT_UNKNOWN] = true;
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === undefined || status >= FIRST_SERVER_ERROR_STATUS) unknown = true;
          throw error;
        }
      };
    },
    // Inside the retry middleware (finalizeRequest, high), outside the deserializer: once per attempt.
    { step: 'finalizeRequest', priority: 'low', name },
  );
}

function actionInput(action: LifecycleActionRef) {
  return {
    AutoScalingGroupName: action.groupName,
    LifecycleHookName: action.hookName,
    // The token when we have it; an adopted drain only knows its instance (both are accepted).
    ...(action.token !== undefined
      ? { LifecycleActionToken: action.token }
      : { InstanceId: action.instanceId }),
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

async function completeLifecycleAction(
  client: AutoScalingClient,
  action: LifecycleActionRef,
  result: LifecycleActionResult,
): Promise<void> {
  try {
    await client.send(
      new CompleteLifecycleActionCommand({ ...actionInput(action), LifecycleActionResult: result }),
    );
  } catch (error) {
    throw translate(error, 'CompleteLifecycleAction');
  }
}

async function recordHeartbeat(client: AutoScalingClient, action: LifecycleActionRef): Promise<void> {
  try {
    await client.send(new RecordLifecycleActionHeartbeatCommand(actionInput(action)));
  } catch (error) {
    throw translate(error, 'RecordLifecycleActionHeartbeat');
  }
}

async function describeGroupInstances(
  client: AutoScalingClient,
  groupNames: readonly string[],
): Promise<InstanceState[]> {
  const states: InstanceState[] = [];
  try {
    for (const names of chunk(groupNames, GROUP_NAMES_PER_CALL)) {
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new DescribeAutoScalingGroupsCommand({
            AutoScalingGroupNames: names,
            MaxRecords: GROUPS_PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
        for (const group of page.AutoScalingGroups ?? []) {
          for (const instance of group.Instances ?? []) {
            if (instance.InstanceId && group.AutoScalingGroupName && instance.LifecycleState) {
              states.push({
                instanceId: instance.InstanceId,
                groupName: group.AutoScalingGroupName,
                lifecycleState: instance.LifecycleState,
              });
            }
          }
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
  } catch (error) {
    throw translate(error, 'DescribeAutoScalingGroups');
  }
  return states;
}

async function describeWarmPoolInstances(
  client: AutoScalingClient,
  groupNames: readonly string[],
): Promise<InstanceState[]> {
  // DescribeAutoScalingGroups does not list warm-pool instances; DescribeWarmPool does, one group a call.
  // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html
  const states: InstanceState[] = [];
  for (const groupName of groupNames) {
    let nextToken: string | undefined;
    try {
      do {
        const page = await client.send(
          new DescribeWarmPoolCommand({
            AutoScalingGroupName: groupName,
            MaxRecords: WARM_POOL_PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
        const poolState = page.WarmPoolConfiguration?.PoolState;
        for (const instance of page.Instances ?? []) {
          if (instance.InstanceId && instance.LifecycleState) {
            states.push({
              instanceId: instance.InstanceId,
              groupName,
              lifecycleState: instance.LifecycleState,
              ...(poolState === undefined ? {} : { poolState }),
            });
          }
        }
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      // A group without a warm pool (whether that is an error at all is *unconfirmed*): nothing to list.
      if (errorCode(error) === 'ValidationError') continue;
      throw translate(error, 'DescribeWarmPool');
    }
  }
  return states;
}

async function warmPoolState(client: AutoScalingClient, groupName: string): Promise<string | undefined> {
  try {
    const page = await client.send(
      new DescribeWarmPoolCommand({ AutoScalingGroupName: groupName, MaxRecords: 1 }),
    );
    return page.WarmPoolConfiguration?.PoolState;
  } catch (error) {
    // As above: a group without a warm pool has no pool state.
    if (errorCode(error) === 'ValidationError') return undefined;
    throw translate(error, 'DescribeWarmPool');
  }
}

async function describeInstances(
  client: AutoScalingClient,
  instanceIds: readonly string[],
): Promise<InstanceState[]> {
  const states: InstanceState[] = [];
  try {
    for (const ids of chunk(instanceIds, INSTANCES_PER_CALL)) {
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new DescribeAutoScalingInstancesCommand({
            InstanceIds: ids,
            MaxRecords: INSTANCES_PER_CALL,
            NextToken: nextToken,
          }),
        );
        for (const instance of page.AutoScalingInstances ?? []) {
          if (instance.InstanceId && instance.AutoScalingGroupName && instance.LifecycleState) {
            states.push({
              instanceId: instance.InstanceId,
              groupName: instance.AutoScalingGroupName,
              lifecycleState: instance.LifecycleState,
            });
          }
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
  } catch (error) {
    throw translate(error, 'DescribeAutoScalingInstances');
  }
  return states;
}

/** The Auto Scaling port over a real (or mocked) client. */
export function createAutoScalingPort(client: AutoScalingClient): AutoScalingPort {
  recordAttemptOutcomes(client);
  return {
    completeLifecycleAction: (action, result) => completeLifecycleAction(client, action, result),
    recordHeartbeat: (action) => recordHeartbeat(client, action),
    describeGroupInstances: (groupNames) => describeGroupInstances(client, groupNames),
    describeWarmPoolInstances: (groupNames) => describeWarmPoolInstances(client, groupNames),
    warmPoolState: (groupName) => warmPoolState(client, groupName),
    describeInstances: (instanceIds) => describeInstances(client, instanceIds),
  };
}
