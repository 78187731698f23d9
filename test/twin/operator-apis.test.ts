// What the operator commands read, over HTTP with the real SDK v3 clients: CloudFormation's DescribeStacks
// with the template's outputs resolved, Auto Scaling's DescribeLifecycleHooks, an instance with no SSM Agent,
// and access denied on demand in each protocol's form.

import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstanceInformationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_OUTPUT_DESCRIPTION, parseOperatorConfig } from '../../common/operator-config';
import { FleetDrainer } from '../../lib/index';
import { AgentRegistry } from '../../twin/agents';
import { autoScalingAction } from '../../twin/auto-scaling-api';
import { ManualClock } from '../../twin/clock';
import { cloudFormationAction, type DeployedStack, stackArn } from '../../twin/cloudformation-api';
import { CommandsModel } from '../../twin/commands';
import { ApiFaults } from '../../twin/faults';
import { AutoScalingModel } from '../../twin/lifecycle';
import { type ApiServer, startApiServer } from '../../twin/server';
import { ssmOperation } from '../../twin/ssm-api';
import { type CfnTemplate, readTemplate, type TwinTemplate } from '../../twin/template';

const STACK = 'FleetDrainerOps';
const STACK_UUID = '6f1c2d3e-0000-4000-8000-000000000001';
const MANAGED = 'i-0000000000000000a';
const UNMANAGED = 'i-0000000000000000b';

/** The construct's template plus one output built as the construct builds its own: tokens in a JSON string. */
function synthesize(): { template: CfnTemplate; documentName: string } {
  const app = new App();
  const stack = new Stack(app, STACK, { env: { account: '123456789012', region: 'us-west-2' } });
  const drainer = new FleetDrainer(stack, 'Drainer', {
    groups: ['web'],
    policy: {
      version: 1,
      targets: [{ name: 'workers', match: { cmdline: 'worker' }, schedule: 'TERM/10s' }],
    },
  });
  new CfnOutput(stack, 'OperatorProbe', {
    description: OPERATOR_OUTPUT_DESCRIPTION,
    value: stack.toJsonString({
      v: 1,
      document: drainer.documentName,
      hook: (drainer.hooks[0] as { ref: string }).ref,
      groups: ['web'],
      functionArn: drainer.function.functionArn,
    }),
  });
  return { template: Template.fromStack(stack).toJSON() as CfnTemplate, documentName: drainer.documentName };
}

const clock = new ManualClock();
const faults = new ApiFaults();
const agents = new AgentRegistry();
const autoScaling = new AutoScalingModel(clock, { actionStarted: () => {}, instanceState: () => {} });
let twinTemplate: TwinTemplate;
let documentName: string;
let stack: DeployedStack;
let server: ApiServer;
const options = (region: string) => ({
  endpoint: '',
  region,
  credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' },
  maxAttempts: 1,
});
let cfn: CloudFormationClient;
let cfnElsewhere: CloudFormationClient;
let asg: AutoScalingClient;
let ssm: SSMClient;

beforeAll(async () => {
  const synthesized = synthesize();
  documentName = synthesized.documentName;
  twinTemplate = readTemplate(synthesized.template);
  stack = {
    name: STACK,
    id: stackArn(STACK, STACK_UUID),
    description: undefined,
    createdMs: clock.now(),
    outputs: twinTemplate.outputs,
  };
  const commands = new CommandsModel(
    clock,
    twinTemplate.documents,
    { isOnline: (id) => agents.isOnline(id), run: () => ({ kill: () => {} }) },
    { invocationChanged: () => {} },
  );
  const hook = twinTemplate.hooks[0] as TwinTemplate['hooks'][number];
  autoScaling.createGroup(hook.groupName, [
    {
      name: hook.hookName,
      heartbeatTimeoutMs: hook.heartbeatTimeoutSeconds * 1000,
      defaultResult: hook.defaultResult,
    },
  ]);
  autoScaling.addInstance(hook.groupName, MANAGED);
  autoScaling.addInstance(hook.groupName, UNMANAGED);
  agents.register(MANAGED, clock.now());
  server = await startApiServer({
    now: () => clock.now(),
    faults,
    autoScaling: (params) => autoScalingAction(autoScaling, params, clock.now()),
    cloudFormation: (params, region) => cloudFormationAction(stack, params, region),
    json: (_, operation, input) => ssmOperation(commands, agents, operation, input, clock.now()),
  });
  cfn = new CloudFormationClient({ ...options('us-west-2'), endpoint: server.url });
  cfnElsewhere = new CloudFormationClient({ ...options('eu-central-1'), endpoint: server.url });
  asg = new AutoScalingClient({ ...options('us-west-2'), endpoint: server.url });
  ssm = new SSMClient({ ...options('us-west-2'), endpoint: server.url });
}, 60_000);

afterAll(async () => {
  for (const client of [cfn, cfnElsewhere, asg, ssm]) client.destroy();
  await server.close();
});

describe('CloudFormation DescribeStacks', () => {
  it('describes the deployed stack with its outputs resolved from the template', async () => {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: STACK }));

    expect(Stacks).toHaveLength(1);
    const [described] = Stacks ?? [];
    expect(described).toMatchObject({
      StackName: STACK,
      StackId: `arn:aws:cloudformation:us-west-2:123456789012:stack/${STACK}/${STACK_UUID}`,
      StackStatus: 'CREATE_COMPLETE',
    });
    expect(described?.CreationTime).toBeInstanceOf(Date);
    const output = described?.Outputs?.find((o) => o.OutputKey === 'OperatorProbe');
    expect(output?.Description).toBe(OPERATOR_OUTPUT_DESCRIPTION);
    const value = JSON.parse(output?.OutputValue as string);
    expect(parseOperatorConfig(output?.OutputValue as string)).toEqual({
      v: 1,
      document: documentName,
      hook: twinTemplate.hooks[0]?.hookName,
      groups: ['web'],
    });
    // A Fn::GetAtt inside the JSON string is resolved too, to the twin's stand-in ARN.
    expect(value.functionArn).toMatch(/^arn:aws:twin:us-west-2:123456789012:\w+\/Arn$/);
  });

  it("resolves the construct's own operator output, tokens and all", async () => {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: STACK }));
    const own = Stacks?.[0]?.Outputs?.filter(
      (o) => o.Description === OPERATOR_OUTPUT_DESCRIPTION && o.OutputKey !== 'OperatorProbe',
    );

    expect(own).toHaveLength(1);
    const config = parseOperatorConfig(own?.[0]?.OutputValue as string);
    expect(config).toMatchObject({ v: 1, document: documentName, groups: ['web'] });
    expect(config.hook).toBe(twinTemplate.hooks[0]?.hookName);
  });

  it('finds the stack by its id (ARN) as well as by its name', async () => {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stack.id }));
    expect(Stacks?.[0]?.StackName).toBe(STACK);
  });

  it('answers an unknown stack with ValidationError "Stack with id … does not exist" (HTTP 400)', async () => {
    const error = await cfn.send(new DescribeStacksCommand({ StackName: 'Nope' })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id Nope does not exist',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('finds no stack from another region', async () => {
    const error = await cfnElsewhere
      .send(new DescribeStacksCommand({ StackName: STACK }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ValidationError',
      message: `Stack with id ${STACK} does not exist`,
    });
    expect((await cfnElsewhere.send(new DescribeStacksCommand({}))).Stacks).toEqual([]);
  });
});

describe('Auto Scaling DescribeLifecycleHooks', () => {
  it("describes the group's terminate hook with its timeouts", async () => {
    const hook = twinTemplate.hooks[0] as TwinTemplate['hooks'][number];
    const { LifecycleHooks } = await asg.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: hook.groupName }),
    );

    expect(LifecycleHooks).toEqual([
      {
        LifecycleHookName: hook.hookName,
        AutoScalingGroupName: hook.groupName,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: hook.heartbeatTimeoutSeconds,
        GlobalTimeout: Math.min(172_800, 100 * hook.heartbeatTimeoutSeconds),
        DefaultResult: hook.defaultResult,
      },
    ]);
    const named = await asg.send(
      new DescribeLifecycleHooksCommand({
        AutoScalingGroupName: hook.groupName,
        LifecycleHookNames: ['other'],
      }),
    );
    expect(named.LifecycleHooks).toEqual([]);
  });

  it('refuses an unknown group with ValidationError', async () => {
    await expect(
      asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'nope' })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringMatching(/'nope' not found/) });
  });
});

describe('an instance of the group with no SSM Agent', () => {
  it('is in the group, unknown to DescribeInstanceInformation and refused by SendCommand', async () => {
    const { AutoScalingInstances } = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [UNMANAGED] }),
    );
    expect(AutoScalingInstances?.[0]).toMatchObject({ InstanceId: UNMANAGED, LifecycleState: 'InService' });

    await expect(
      ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [UNMANAGED] }] }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidInstanceId' });
    const managed = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [MANAGED] }] }),
    );
    expect(managed.InstanceInformationList?.[0]).toMatchObject({ InstanceId: MANAGED, PingStatus: 'Online' });
    await expect(
      ssm.send(
        new SendCommandCommand({
          DocumentName: documentName,
          InstanceIds: [UNMANAGED],
          Parameters: {
            drainId: ['plan-0123456789ab'],
            deadline: ['2026-12-06T21:00:00Z'],
            instanceId: [UNMANAGED],
            autoScalingGroupName: ['web'],
            lifecycleHookName: [twinTemplate.hooks[0]?.hookName as string],
          },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInstanceId',
      message: `Instances [[${UNMANAGED}]] not in a valid state for account 123456789012`,
    });
  });
});

describe('access denied on demand', () => {
  const principal = 'arn:aws:sts::123456789012:assumed-role/twin-operator/twin-session';

  it('SSM: AccessDeniedException (HTTP 400) naming the action and the document', async () => {
    faults.denyAccess('ssm', 'SendCommand');
    const error = await ssm
      .send(new SendCommandCommand({ DocumentName: documentName, InstanceIds: [MANAGED] }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      message: `User: ${principal} is not authorized to perform: ssm:SendCommand on resource: arn:aws:ssm:us-west-2:123456789012:document/${documentName} because no identity-based policy allows the ssm:SendCommand action`,
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('CloudFormation: AccessDenied (HTTP 403) on the stack; the next call is allowed again', async () => {
    faults.denyAccess('cloudformation', 'DescribeStacks');
    const error = await cfn.send(new DescribeStacksCommand({ StackName: STACK })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AccessDenied',
      message: `User: ${principal} is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:us-west-2:123456789012:stack/${STACK}/* because no identity-based policy allows the cloudformation:DescribeStacks action`,
      $metadata: { httpStatusCode: 403 },
    });
    await expect(cfn.send(new DescribeStacksCommand({ StackName: STACK }))).resolves.toBeDefined();
  });

  it('Auto Scaling: AccessDenied (HTTP 403) with no resource, for a chosen principal, twice', async () => {
    const user = 'arn:aws:iam::123456789012:user/operator';
    faults.denyAccess('autoscaling', 'DescribeLifecycleHooks', { principal: user, times: 2 });
    for (let call = 0; call < 2; call += 1) {
      await expect(
        asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'web' })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
        message: `User: ${user} is not authorized to perform: autoscaling:DescribeLifecycleHooks because no identity-based policy allows the autoscaling:DescribeLifecycleHooks action`,
        $metadata: { httpStatusCode: 403 },
      });
    }
    const after = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'web' }));
    expect(after.LifecycleHooks).toHaveLength(1);
  });
});
