// What the operator commands get from the construct: the stack output they read (common/operator-config.ts)
// and grantOperator, evaluated with an IAM policy simulator: each command's calls allowed, nothing else.

import {
  App,
  aws_autoscaling as autoscaling,
  CfnOutput,
  aws_ec2 as ec2,
  aws_iam as iam,
  Stack,
} from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OPERATOR_OUTPUT_DESCRIPTION, parseOperatorConfig } from '../../common/operator-config';
import { ENV_EXPIRY_GRACE_SECONDS } from '../../lambda/config';
import { OUTPUT_DESCRIPTION_LIMIT_BYTES, STACK_OUTPUTS_LIMIT } from '../../lib/deploy-quotas';
import { FleetDrainer } from '../../lib/index';
import {
  OPERATOR_CALLS,
  OPERATOR_COMMANDS,
  type OperatorCommand,
  operatorStatements,
} from '../../lib/operator-access';
import { drainerStack, POLICY } from './helpers';
import { ACCOUNT, concrete, type NamedPolicy, REGION, simulate } from './iam-simulation';

/** The drainer outputs of a template, their values resolved (`refs`: a group construct's Ref → its name). */
function operatorOutputs(template: Template, refs: Record<string, string> = {}) {
  const outputs = Object.entries(template.toJSON().Outputs ?? {}) as [
    string,
    { Description?: string; Value: unknown },
  ][];
  return outputs
    .filter(([, output]) => output.Description === OPERATOR_OUTPUT_DESCRIPTION)
    .map(([logicalId, output]) => ({ logicalId, value: concrete(output.Value, refs) as string }));
}

describe('the operator output', () => {
  it('is one output per drainer whose value the CLI parses back to the document, hook and groups', () => {
    const { drainer, template } = drainerStack();
    const [output, ...others] = operatorOutputs(template);
    expect(others).toEqual([]);
    expect(output?.logicalId).toMatch(/^DrainerOperatorConfig[0-9A-F]{8}$/);
    expect(parseOperatorConfig(output?.value as string)).toMatchObject({
      v: 1,
      document: drainer.documentName,
      hook: drainer.hookName,
      groups: ['web', 'workers'],
      timing: { maxDrainSeconds: expect.any(Number), heartbeatTimeoutSeconds: expect.any(Number) },
    });
  });

  it("names a group CloudFormation names by its Ref, and carries the Lambda's timing as deployed", () => {
    const stack = new Stack(new App(), 'Named');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 1 });
    const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });
    const drainer = new FleetDrainer(stack, 'Drainer', { groups: [group, 'legacy'], policy: POLICY });
    drainer.function.addEnvironment(ENV_EXPIRY_GRACE_SECONDS, '600');
    const groupRef = stack.resolve(group.autoScalingGroupName) as { Ref: string };
    const [output] = operatorOutputs(Template.fromStack(stack), { [groupRef.Ref]: 'named-by-cfn' });
    const value = JSON.parse(output?.value as string);
    expect(parseOperatorConfig(output?.value as string).groups).toEqual(['named-by-cfn', 'legacy']);
    expect(value.timing).toEqual({
      maxDrainSeconds: 3600,
      heartbeatTimeoutSeconds: drainer.heartbeatTimeoutSeconds,
      tickPeriodSeconds: 60,
      expiryGraceSeconds: 600,
      adoptionDelaySeconds: 45,
    });
  });

  it('is told apart by its Description, within the 1,024 bytes CloudFormation takes', () => {
    expect(Buffer.byteLength(OPERATOR_OUTPUT_DESCRIPTION)).toBeLessThanOrEqual(
      OUTPUT_DESCRIPTION_LIMIT_BYTES,
    );
    const stack = new Stack(new App(), 'Two');
    const one = new FleetDrainer(stack, 'One', { groups: ['a'], policy: POLICY });
    const two = new FleetDrainer(stack, 'Two', { groups: ['b'], policy: POLICY });
    const documents = operatorOutputs(Template.fromStack(stack)).map(
      ({ value }) => parseOperatorConfig(value).document,
    );
    expect(documents.sort()).toEqual([one.documentName, two.documentName].sort());
  });

  it(`fails synth, naming the fix, when the stack would have more than ${STACK_OUTPUTS_LIMIT} outputs`, () => {
    const app = new App();
    const stack = new Stack(app, 'Crowded');
    for (let i = 0; i < STACK_OUTPUTS_LIMIT; i++) new CfnOutput(stack, `Out${i}`, { value: String(i) });
    new FleetDrainer(stack, 'Drainer', { groups: ['a'], policy: POLICY });
    new FleetDrainer(stack, 'Other', { groups: ['b'], policy: POLICY });
    expect(() => app.synth()).toThrow(
      /would declare 202 outputs, over CloudFormation's 200 .*put some FleetDrainers in another stack/,
    );
  });
});

// One role per command, and one with grantOperator's default (all three).
const app = new App();
const stack = new Stack(app, 'Ops');
const drainer = new FleetDrainer(stack, 'Drainer', { groups: ['web', 'workers'], policy: POLICY });
const roles = Object.fromEntries(
  [...OPERATOR_COMMANDS, 'all'].map((name) => {
    const role = new iam.Role(stack, `Operator-${name}`, { assumedBy: new iam.AccountRootPrincipal() });
    if (name === 'all') drainer.grantOperator(role);
    else drainer.grantOperator(role, [name as OperatorCommand]);
    return [name, role];
  }),
);
const template = Template.fromStack(stack);

/** The policies attached to a role, resolved. */
function policiesOf(role: iam.Role): NamedPolicy[] {
  const ref = JSON.stringify(stack.resolve((role.node.defaultChild as iam.CfnRole).ref));
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([, resource]) =>
      JSON.stringify((resource as { Properties: { Roles: unknown } }).Properties.Roles).includes(ref),
    )
    .map(([name, resource]) => ({
      name,
      policy: concrete((resource as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument),
    }));
}

const stackArn = (name: string) =>
  `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0f0e0d0c-1111-2222-3333-444455556666`;
const documentArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${name}`;
const instanceArn = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;
const tagged = (group: string) => ({ 'ssm:resourceTag/aws:autoscaling:groupName': group });

/** Each call of a command on the resource it acts on. */
function requestOf(action: string): [string, Record<string, string>] {
  if (action === 'cloudformation:DescribeStacks') return [stackArn('Ops'), {}];
  if (action === 'ssm:SendCommand') return [instanceArn, tagged('web')];
  return ['*', {}];
}

const decide = (name: string, action: string, resource: string, context: Record<string, string> = {}) =>
  simulate(
    policiesOf(roles[name] as iam.Role),
    action,
    resource,
    context,
    `arn:aws:iam::${ACCOUNT}:role/operator`,
  );

describe('grantOperator', () => {
  it.each(OPERATOR_COMMANDS)('allows every call of %s', async (command) => {
    for (const action of OPERATOR_CALLS[command]) {
      const [resource, context] = requestOf(action);
      expect(await decide(command, action, resource, context), action).toBe('Allowed');
      expect(await decide('all', action, resource, context), action).toBe('Allowed');
    }
    if (OPERATOR_CALLS[command].includes('ssm:SendCommand')) {
      expect(await decide(command, 'ssm:SendCommand', documentArn(drainer.documentName))).toBe('Allowed');
    }
  });

  it.each(OPERATOR_COMMANDS)("allows %s no call of another command's", async (command) => {
    const others = OPERATOR_COMMANDS.flatMap((other) => OPERATOR_CALLS[other]).filter(
      (action) => !OPERATOR_CALLS[command].includes(action),
    );
    for (const action of new Set(others)) {
      const [resource, context] = requestOf(action);
      expect(await decide(command, action, resource, context), action).not.toBe('Allowed');
    }
  });

  it('sends no other document, and to no instance outside the drained groups', async () => {
    expect(await decide('all', 'ssm:SendCommand', documentArn('AWS-RunShellScript'))).not.toBe('Allowed');
    expect(await decide('all', 'ssm:SendCommand', documentArn('FleetDrain-Other'))).not.toBe('Allowed');
    expect(await decide('all', 'ssm:SendCommand', instanceArn, tagged('billing'))).not.toBe('Allowed');
    expect(await decide('all', 'ssm:SendCommand', instanceArn)).not.toBe('Allowed');
  });

  it('reads no other stack, and neither cancels, completes nor changes anything', async () => {
    expect(await decide('all', 'cloudformation:DescribeStacks', stackArn('Other'))).not.toBe('Allowed');
    for (const action of [
      'ssm:CancelCommand',
      'ssm:StartSession',
      'autoscaling:CompleteLifecycleAction',
      'autoscaling:RecordLifecycleActionHeartbeat',
      'autoscaling:UpdateAutoScalingGroup',
      'cloudformation:UpdateStack',
      'ec2:TerminateInstances',
    ]) {
      expect(await decide('all', action, '*'), action).not.toBe('Allowed');
    }
  });

  it('grants exactly the statements lib/README.md prints, with this stack for the placeholders', () => {
    const granted = policiesOf(roles.all as iam.Role).flatMap(
      ({ policy }) => (policy as { Statement: Record<string, unknown>[] }).Statement,
    );
    const expected = operatorStatements(OPERATOR_COMMANDS, {
      stackArn: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Ops/*`,
      documentArn: documentArn(drainer.documentName),
      instanceArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`,
      groupNames: ['web', 'workers'],
    });
    // Compared without Sids (Grant takes none), in one key order.
    const normal = (statements: Record<string, unknown>[]) =>
      statements
        .map(({ Effect, Action, Resource, Condition }) => ({
          Effect,
          Action: [Action].flat().sort(),
          Resource: [Resource].flat().sort(),
          Condition,
        }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(normal(granted)).toEqual(normal(expected as unknown as Record<string, unknown>[]));
  });

  it('refuses an unknown command, naming the ones it knows', () => {
    const role = new iam.Role(new Stack(new App(), 'Bad'), 'R', {
      assumedBy: new iam.AccountRootPrincipal(),
    });
    expect(() => drainer.grantOperator(role, ['drain' as OperatorCommand])).toThrow(
      /commands must be some of status, report, plan, got \["drain"\]/,
    );
  });
});
