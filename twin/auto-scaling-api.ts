// EC2 Auto Scaling's Query API over the lifecycle model: the calls the drainer makes, plus the two that
// start a scale-in. Element names follow the API reference and the SDK's own schema.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html

import { AwsError, constraintMessage } from './aws-error';
import { type AutoScalingModel, MAX_GLOBAL_TIMEOUT_MS } from './lifecycle';
import { paginate } from './paginate';
import type { QueryParams } from './query-protocol';
import type { XmlObject } from './xml';

const REGION = 'us-west-2';
const ACCOUNT = '123456789012';

function maxRecords(params: QueryParams, limit: number, fallback: number): number {
  const value = params.integer('MaxRecords') ?? fallback;
  if (value < 1 || value > limit) {
    throw new AwsError(
      'ValidationError',
      constraintMessage(value, 'maxRecords', `have value less than or equal to ${limit}`),
    );
  }
  return value;
}

function actionRef(params: QueryParams) {
  return {
    groupName: params.required('AutoScalingGroupName'),
    hookName: params.required('LifecycleHookName'),
    token: params.string('LifecycleActionToken'),
    instanceId: params.string('InstanceId'),
  };
}

/** Answers one Query action with the `…Result` element's content. */
export function autoScalingAction(model: AutoScalingModel, params: QueryParams, nowMs: number): XmlObject {
  switch (params.action) {
    case 'DescribeAutoScalingGroups': {
      const page = paginate(
        model.describeGroups(params.list('AutoScalingGroupNames')),
        maxRecords(params, 100, 50),
        params.string('NextToken'),
        'InvalidNextToken',
      );
      return {
        AutoScalingGroups: page.items.map((group) => ({
          AutoScalingGroupName: group.name,
          AutoScalingGroupARN: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${group.name}`,
          MinSize: group.minSize,
          MaxSize: group.maxSize,
          DesiredCapacity: group.desiredCapacity,
          DefaultCooldown: 300,
          AvailabilityZones: [`${REGION}a`],
          LoadBalancerNames: [],
          TargetGroupARNs: [],
          HealthCheckType: 'EC2',
          HealthCheckGracePeriod: 300,
          CapacityRebalance: group.capacityRebalance,
          Instances: group.instances.map((instance) => ({
            InstanceId: instance.instanceId,
            InstanceType: 't3.micro',
            AvailabilityZone: instance.availabilityZone,
            LifecycleState: instance.lifecycleState,
            HealthStatus: instance.healthStatus ?? 'Healthy',
            ProtectedFromScaleIn: false,
          })),
          CreatedTime: new Date(group.createdMs),
          SuspendedProcesses: [],
          EnabledMetrics: [],
          Tags: [],
          TerminationPolicies: ['Default'],
          NewInstancesProtectedFromScaleIn: false,
        })),
        NextToken: page.nextToken,
      };
    }
    case 'DescribeAutoScalingInstances': {
      const page = paginate(
        model.describeInstances(params.list('InstanceIds')),
        maxRecords(params, 50, 50),
        params.string('NextToken'),
        'InvalidNextToken',
      );
      return {
        AutoScalingInstances: page.items.map((instance) => ({
          InstanceId: instance.instanceId,
          InstanceType: 't3.micro',
          AutoScalingGroupName: instance.groupName,
          AvailabilityZone: instance.availabilityZone,
          LifecycleState: instance.lifecycleState,
          // This API spells health in capitals, unlike DescribeAutoScalingGroups.
          HealthStatus: instance.healthStatus === 'Unhealthy' ? 'UNHEALTHY' : 'HEALTHY',
          ProtectedFromScaleIn: false,
        })),
        NextToken: page.nextToken,
      };
    }
    case 'DescribeWarmPool': {
      // A group without a warm pool: no WarmPoolConfiguration and no instances (*unconfirmed* that AWS
      // answers a group without a pool this way rather than with an error).
      // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeWarmPool.html
      const name = params.required('AutoScalingGroupName');
      if (model.describeGroups([name]).length === 0) {
        throw new AwsError(
          'ValidationError',
          `AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`,
        );
      }
      const pool = model.describeWarmPool(name);
      // The API reference caps MaxRecords at 50 here (100 for DescribeAutoScalingGroups).
      const page = paginate(
        pool.instances,
        maxRecords(params, 50, 50),
        params.string('NextToken'),
        'InvalidNextToken',
      );
      return {
        ...(pool.spec === undefined
          ? {}
          : {
              WarmPoolConfiguration: {
                MinSize: 0,
                PoolState: pool.spec.poolState,
                InstanceReusePolicy: { ReuseOnScaleIn: pool.spec.reuseOnScaleIn },
              },
            }),
        Instances: page.items.map((instance) => ({
          InstanceId: instance.instanceId,
          InstanceType: 't3.micro',
          AvailabilityZone: instance.availabilityZone,
          LifecycleState: instance.lifecycleState,
          HealthStatus: 'Healthy',
        })),
        NextToken: page.nextToken,
      };
    }
    case 'DescribeLifecycleHooks':
      return { LifecycleHooks: describeLifecycleHooks(model, params) };
    case 'CompleteLifecycleAction':
      model.completeAction(actionRef(params), params.required('LifecycleActionResult'));
      return {};
    case 'RecordLifecycleActionHeartbeat':
      model.recordHeartbeat(actionRef(params));
      return {};
    case 'SetDesiredCapacity':
      model.setDesiredCapacity(
        params.required('AutoScalingGroupName'),
        Number(params.required('DesiredCapacity')),
      );
      return {};
    case 'TerminateInstanceInAutoScalingGroup': {
      const instance = model.terminateInstance(
        params.required('InstanceId'),
        params.required('ShouldDecrementDesiredCapacity') === 'true',
      );
      return {
        Activity: {
          ActivityId: crypto.randomUUID(),
          AutoScalingGroupName: instance.groupName,
          Description: `Terminating EC2 instance: ${instance.instanceId}`,
          Cause: `At ${new Date(nowMs).toISOString()} instance ${instance.instanceId} was taken out of service in response to a user request.`,
          StartTime: new Date(nowMs),
          StatusCode: 'InProgress',
          Progress: 0,
          Details: '{}',
        },
      };
    }
    default:
      throw new AwsError('InvalidAction', `Could not find operation ${params.action} for version 2011-01-01`);
  }
}

/**
 * DescribeLifecycleHooks: the group's hooks, or those named (at most 50); `GlobalTimeout` is 100 × the heartbeat
 * timeout, at most 48 h, as the AWS CLI's example shows (awscli/examples/autoscaling/describe-lifecycle-hooks.rst:
 * 3000 for 30, 6000 for 60). An unknown group: `ValidationError` as DescribeWarmPool answers it (*assumption*).
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeLifecycleHooks.html
 */
function describeLifecycleHooks(model: AutoScalingModel, params: QueryParams): XmlObject[] {
  const groupName = params.required('AutoScalingGroupName');
  const names = params.list('LifecycleHookNames');
  if (names !== undefined && names.length > 50) {
    throw new AwsError(
      'ValidationError',
      constraintMessage(names.length, 'lifecycleHookNames', 'have length less than or equal to 50'),
    );
  }
  const hooks = model.describeHooks(groupName);
  if (hooks === undefined) {
    throw new AwsError(
      'ValidationError',
      `AutoScalingGroup name not found - AutoScalingGroup '${groupName}' not found`,
    );
  }
  return hooks
    .filter((hook) => names === undefined || names.length === 0 || names.includes(hook.name))
    .map((hook) => ({
      LifecycleHookName: hook.name,
      AutoScalingGroupName: groupName,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      NotificationMetadata: hook.notificationMetadata,
      HeartbeatTimeout: Math.round(hook.heartbeatTimeoutMs / 1000),
      GlobalTimeout: Math.round(Math.min(MAX_GLOBAL_TIMEOUT_MS, 100 * hook.heartbeatTimeoutMs) / 1000),
      DefaultResult: hook.defaultResult,
    }));
}
