// Edge: what `status` and `plan` read of the fleet. The listings the Lambda makes go through its own ports
// (lambda/aws/), so paging, warm pools and SSM's refusal of unknown instance ids are handled the same way;
// every failure is tagged with the IAM action it needs.

import {
  type AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
} from '@aws-sdk/client-auto-scaling';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createAutoScalingPort } from '../../lambda/aws/auto-scaling';
import { createSsmPort } from '../../lambda/aws/ssm';
import { type DrainCommand, type ListedCommand, toDrainCommands } from '../../lambda/decide/drain-command';
import type { AgentState, InstanceState } from '../../lambda/decide/fleet-state';
import { AwsOperationError } from '../explain-error';
import { globalTimeoutMs, type HookTiming } from '../verdict';

/** Runs one AWS call; a failure carries the IAM action (explain-error.ts names it when access is denied). */
export async function tagged<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new AwsOperationError(action, error);
  }
}

/** The groups' instances, the warm pools' included (Warmed:Pending:Wait is listed only there). */
export async function groupInstances(
  client: AutoScalingClient,
  groupNames: readonly string[],
): Promise<InstanceState[]> {
  const port = createAutoScalingPort(client);
  const inGroups = await tagged('autoscaling:DescribeAutoScalingGroups', () =>
    port.describeGroupInstances(groupNames),
  );
  const inPools = await tagged('autoscaling:DescribeWarmPool', () =>
    port.describeWarmPoolInstances(groupNames),
  );
  const byId = new Map<string, InstanceState>();
  for (const instance of [...inPools, ...inGroups]) byId.set(instance.instanceId, instance);
  return [...byId.values()];
}

/** The hook's timeouts on one group; undefined when the group has no such hook. */
export async function hookTiming(
  client: AutoScalingClient,
  groupName: string,
  hookName: string,
): Promise<HookTiming | undefined> {
  const response = await tagged('autoscaling:DescribeLifecycleHooks', () =>
    client.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupName, LifecycleHookNames: [hookName] }),
    ),
  );
  const hook = response.LifecycleHooks?.find((h) => h.LifecycleHookName === hookName);
  if (hook?.HeartbeatTimeout === undefined) return undefined;
  return {
    heartbeatTimeoutMs: hook.HeartbeatTimeout * 1000,
    globalTimeoutMs: globalTimeoutMs(hook.HeartbeatTimeout, hook.GlobalTimeout),
  };
}

/** The group of an instance, or undefined when Auto Scaling knows it in none. */
export async function groupOfInstance(
  client: AutoScalingClient,
  instanceId: string,
): Promise<{ groupName: string; lifecycleState: string } | undefined> {
  const response = await tagged('autoscaling:DescribeAutoScalingInstances', () =>
    client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] })),
  );
  const found = response.AutoScalingInstances?.find((instance) => instance.InstanceId === instanceId);
  if (found?.AutoScalingGroupName === undefined) return undefined;
  return { groupName: found.AutoScalingGroupName, lifecycleState: found.LifecycleState ?? 'unknown' };
}

/** The document's commands, as ListCommands returns them (plan commands included: callers tell). */
export async function listedCommands(
  client: SSMClient,
  documentName: string,
  filter: { instanceId?: string; commandId?: string; invokedAfterMs?: number },
): Promise<ListedCommand[]> {
  return tagged('ssm:ListCommands', () => createSsmPort(client, documentName).listCommands(filter));
}

/** The drain commands (valid parameters, never a plan) requested after `invokedAfterMs`. */
export async function drainCommands(
  client: SSMClient,
  documentName: string,
  invokedAfterMs: number,
): Promise<DrainCommand[]> {
  const listed = await listedCommands(client, documentName, { invokedAfterMs });
  // A batched start is one drain per instance; a plan is none (toDrainCommands skips it).
  return listed.flatMap(toDrainCommands);
}

/** The SSM agents of these instances; one SSM does not list is absent. */
export async function agentStates(
  client: SSMClient,
  instanceIds: readonly string[],
): Promise<Map<string, AgentState>> {
  if (instanceIds.length === 0) return new Map();
  return tagged('ssm:DescribeInstanceInformation', () =>
    createSsmPort(client, 'unused').describeAgents(instanceIds),
  );
}
