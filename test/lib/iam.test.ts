// Evaluates the drainer's synthesized IAM policy with an IAM policy simulator: what the Lambda may do, and
// above all what it may not.

import { readdirSync, readFileSync } from 'node:fs';
import { App, aws_autoscaling as autoscaling, aws_ec2 as ec2, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FleetDrainer } from '../../lib/index';
import { POLICY } from './helpers';
import { ACCOUNT, concrete, REGION, simulate } from './iam-simulation';

const app = new App();
const stack = new Stack(app, 'Iam');
const drainer = new FleetDrainer(stack, 'Drainer', { groups: ['web', 'workers'], policy: POLICY });
const template = Template.fromStack(stack);
// The role's inline policies and the managed policies that name the groups.
const policies = Object.entries({
  ...template.findResources('AWS::IAM::Policy'),
  ...template.findResources('AWS::IAM::ManagedPolicy'),
}).map(([name, resource]) => ({
  name,
  policy: concrete((resource as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument),
}));

/** A queue of the stack, by the stand-in ARN `concrete` gives it. */
const queueArn = (queue: { node: { defaultChild?: unknown } }) =>
  `arn:aws:sqs:${REGION}:${ACCOUNT}:${stack.getLogicalId(queue.node.defaultChild as never)}`;

const groupArn = (name: string) =>
  `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0f0e0d0c-1111-2222-3333-444455556666:autoScalingGroupName/${name}`;
const instanceArn = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;
const documentArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${name}`;

const decide = (action: string, resource: string, context: Record<string, string> = {}) =>
  simulate(policies, action, resource, context);

const tagged = (group: string) => ({ 'ssm:resourceTag/aws:autoscaling:groupName': group });

describe('the drainer Lambda may', () => {
  it.each(['autoscaling:RecordLifecycleActionHeartbeat', 'autoscaling:CompleteLifecycleAction'])(
    '%s on the configured groups',
    async (action) => {
      expect(await decide(action, groupArn('web'))).toBe('Allowed');
      expect(await decide(action, groupArn('workers'))).toBe('Allowed');
    },
  );

  it('send the fleet-drain document to an instance tagged with a configured group', async () => {
    expect(await decide('ssm:SendCommand', documentArn(drainer.documentName))).toBe('Allowed');
    expect(await decide('ssm:SendCommand', instanceArn, tagged('workers'))).toBe('Allowed');
  });

  it('drain an instance named by a Spot event with what a lifecycle drain uses: nothing more', async () => {
    // The event names the instance only: its group comes from DescribeAutoScalingInstances (no resource).
    expect(await decide('autoscaling:DescribeAutoScalingInstances', '*')).toBe('Allowed');
    expect(await decide('ssm:SendCommand', instanceArn, tagged('web'))).toBe('Allowed');
    expect(await decide('ec2:DescribeInstances', '*')).not.toBe('Allowed');
  });

  it.each(['lifecycle', 'status'] as const)(
    'read how many events wait in the %s queue (sqs:GetQueueAttributes) and consume them',
    async (name) => {
      const queue = queueArn(name === 'lifecycle' ? drainer.lifecycleQueue : drainer.statusQueue);
      for (const action of [
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
      ]) {
        expect(await decide(action, queue), action).toBe('Allowed');
      }
    },
  );

  it('emit drain events on the default bus', async () => {
    expect(await decide('events:PutEvents', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`)).toBe(
      'Allowed',
    );
  });
});

describe('every AWS call the Lambda makes', () => {
  // Read from the Lambda's edge modules, so a new call without a permission fails here, not in production.
  const SERVICES: Record<string, string> = {
    'auto-scaling.ts': 'autoscaling',
    'ssm.ts': 'ssm',
    'events.ts': 'events',
    'sqs.ts': 'sqs',
  };
  const lambdaDir = new URL('../../lambda/aws/', import.meta.url);
  const calls = readdirSync(lambdaDir)
    .filter((file) => file in SERVICES)
    .flatMap((file) =>
      [...readFileSync(new URL(file, lambdaDir), 'utf8').matchAll(/new (\w+)Command\(/g)].map(
        (match) => `${SERVICES[file] ?? file}:${match[1]}`,
      ),
    );
  const granted = new Set(
    policies.flatMap(({ policy }) =>
      (policy as { Statement: { Action: string | string[] }[] }).Statement.flatMap(
        (statement) => statement.Action,
      ),
    ),
  );

  it('is found in the edge modules', () => {
    expect(calls).toEqual(expect.arrayContaining(['ssm:SendCommand', 'autoscaling:CompleteLifecycleAction']));
  });

  it('is granted by the policy', () => {
    expect([...new Set(calls)].filter((action) => !granted.has(action))).toEqual([]);
  });
});

describe('the drainer Lambda may not', () => {
  it.each(['autoscaling:RecordLifecycleActionHeartbeat', 'autoscaling:CompleteLifecycleAction'])(
    '%s on another group, or one whose name only starts like a configured one',
    async (action) => {
      expect(await decide(action, groupArn('billing'))).not.toBe('Allowed');
      expect(await decide(action, groupArn('web-prod'))).not.toBe('Allowed');
    },
  );

  it('run another document, such as AWS-RunShellScript', async () => {
    // AWS's own documents have no account in their ARN; the simulator's resource pattern wants one.
    expect(await decide('ssm:SendCommand', documentArn('AWS-RunShellScript'))).not.toBe('Allowed');
    expect(await decide('ssm:SendCommand', documentArn('FleetDrain-Other'))).not.toBe('Allowed');
  });

  it('send a command to an untagged instance or to an instance of another group', async () => {
    expect(await decide('ssm:SendCommand', instanceArn)).not.toBe('Allowed');
    expect(await decide('ssm:SendCommand', instanceArn, tagged('billing'))).not.toBe('Allowed');
  });

  it("read or consume another queue, or send to its own event queues (only EventBridge's rules do)", async () => {
    const other = `arn:aws:sqs:${REGION}:${ACCOUNT}:someone-elses-queue`;
    expect(await decide('sqs:GetQueueAttributes', other)).not.toBe('Allowed');
    expect(await decide('sqs:ReceiveMessage', other)).not.toBe('Allowed');
    expect(await decide('sqs:SendMessage', queueArn(drainer.lifecycleQueue))).not.toBe('Allowed');
  });

  it('change a group, terminate an instance or emit on another bus', async () => {
    expect(await decide('autoscaling:UpdateAutoScalingGroup', groupArn('web'))).not.toBe('Allowed');
    expect(await decide('autoscaling:TerminateInstanceInAutoScalingGroup', groupArn('web'))).not.toBe(
      'Allowed',
    );
    expect(await decide('ec2:TerminateInstances', instanceArn)).not.toBe('Allowed');
    expect(await decide('events:PutEvents', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/other`)).not.toBe(
      'Allowed',
    );
  });
});

describe('instances', () => {
  it("get no Auto Scaling permission: the construct never touches a group's instance role", () => {
    const local = new Stack(new App(), 'Instances');
    const vpc = new ec2.Vpc(local, 'Vpc', { natGateways: 0, maxAzs: 1 });
    const group = new autoscaling.AutoScalingGroup(local, 'Group', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });
    new FleetDrainer(local, 'Drainer', { groups: [group], policy: POLICY });
    const instanceRole = local.resolve((group.role.node.defaultChild as unknown as { ref: string }).ref);
    const attached = Object.values(Template.fromStack(local).findResources('AWS::IAM::Policy')).filter(
      (policy) =>
        JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles).includes(
          JSON.stringify(instanceRole),
        ),
    );
    expect(JSON.stringify(attached)).not.toContain('autoscaling:');
  });
});
