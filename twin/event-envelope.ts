// The EventBridge event envelope, and the two service events the drainer listens to, in the shapes the
// services document (see AWS-NOTES.md).

import { randomUUID } from 'node:crypto';
import { ACCOUNT_ID } from './commands';

export const REGION = 'us-west-2';

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** EventBridge writes event times in whole seconds. */
function eventTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function makeEvent(
  source: string,
  detailType: string,
  detail: Record<string, unknown>,
  nowMs: number,
  resources: string[] = [],
  id = randomUUID(),
): BusEvent {
  return {
    version: '0',
    id,
    'detail-type': detailType,
    source,
    account: ACCOUNT_ID,
    time: eventTime(nowMs),
    region: REGION,
    resources,
    detail,
  };
}

/** `EC2 Instance-terminate Lifecycle Action` (source aws.autoscaling). */
export function lifecycleActionEvent(
  action: {
    token: string;
    groupName: string;
    hookName: string;
    instanceId: string;
    route?: { origin: string; destination: string };
  },
  metadata: string | undefined,
  nowMs: number,
): BusEvent {
  return makeEvent(
    'aws.autoscaling',
    'EC2 Instance-terminate Lifecycle Action',
    {
      LifecycleActionToken: action.token,
      AutoScalingGroupName: action.groupName,
      LifecycleHookName: action.hookName,
      EC2InstanceId: action.instanceId,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      ...(metadata === undefined ? {} : { NotificationMetadata: metadata }),
      Origin: action.route?.origin ?? 'AutoScalingGroup',
      Destination: action.route?.destination ?? 'EC2',
    },
    nowMs,
    [
      `arn:aws:autoscaling:${REGION}:${ACCOUNT_ID}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${action.groupName}`,
    ],
  );
}

/** `EC2 Command Invocation Status-change Notification` (source aws.ssm). */
export function invocationStatusEvent(
  invocation: {
    commandId: string;
    documentName: string;
    instanceId: string;
    requestedMs: number;
    status: string;
  },
  nowMs: number,
): BusEvent {
  return makeEvent(
    'aws.ssm',
    'EC2 Command Invocation Status-change Notification',
    {
      'command-id': invocation.commandId,
      'document-name': invocation.documentName,
      'instance-id': invocation.instanceId,
      'requested-date-time': new Date(invocation.requestedMs).toISOString(),
      status: invocation.status,
    },
    nowMs,
    [`arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${invocation.instanceId}`],
  );
}

/** `EC2 Command Status-change Notification` (source aws.ssm): the command-level sibling of the invocation event. */
export function commandStatusEvent(
  command: {
    commandId: string;
    documentName: string;
    requestedMs: number;
    expiresMs: number;
    parameters: Record<string, string[]>;
    status: string;
  },
  nowMs: number,
): BusEvent {
  return makeEvent(
    'aws.ssm',
    'EC2 Command Status-change Notification',
    {
      'command-id': command.commandId,
      'document-name': command.documentName,
      'expire-after': new Date(command.expiresMs).toISOString(),
      parameters: command.parameters,
      'requested-date-time': new Date(command.requestedMs).toISOString(),
      status: command.status,
    },
    nowMs,
  );
}

/** `Scheduled Event` (source aws.events) for a schedule rule. */
export function scheduledEvent(ruleArn: string, nowMs: number): BusEvent {
  return makeEvent('aws.events', 'Scheduled Event', {}, nowMs, [ruleArn]);
}

/** What EC2 does to an interrupted Spot Instance (`instance-action` of the warning). */
export type SpotInterruptionAction = 'terminate' | 'stop' | 'hibernate';

const instanceArn = (instanceId: string) => `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${instanceId}`;

/**
 * `EC2 Spot Instance Interruption Warning` (source aws.ec2), two minutes before the interruption.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html
 */
export function spotInterruptionEvent(
  instanceId: string,
  action: SpotInterruptionAction,
  nowMs: number,
): BusEvent {
  return makeEvent(
    'aws.ec2',
    'EC2 Spot Instance Interruption Warning',
    { 'instance-id': instanceId, 'instance-action': action },
    nowMs,
    [instanceArn(instanceId)],
  );
}

/**
 * `EC2 Instance Rebalance Recommendation` (source aws.ec2): the instance is at elevated risk of interruption.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html
 */
export function rebalanceRecommendationEvent(instanceId: string, nowMs: number): BusEvent {
  return makeEvent('aws.ec2', 'EC2 Instance Rebalance Recommendation', { 'instance-id': instanceId }, nowMs, [
    instanceArn(instanceId),
  ]);
}
