// Shared scaffolding of the operator command tests: the real SDK v3 clients mocked at the client boundary
// (aws-sdk-client-mock), a stack whose output describes one drainer, and a run of the command as the bin
// runs it, with its stdout, stderr and exit code captured, a fake clock and instant sleeps.

import {
  AutoScalingClient,
  AutoScalingServiceException,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribeWarmPoolCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeInstanceInformationCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { OPERATOR_OUTPUT_DESCRIPTION, type OperatorConfig } from '../../common/operator-config';
import { createClients } from '../../operator/aws/clients';
import { type OperatorCommand, type OperatorIo, operatorMain } from '../../operator/cli';

export const STACK = 'FleetDrainer';
export const REGION = 'eu-west-1';
export const DOCUMENT = 'FleetDrainer-Doc-1A2B3C';
export const HOOK = 'fleet-drainer-hook';
export const GROUP = 'web-asg';
export const INSTANCE = 'i-0123456789abcdef0';
export const OTHER = 'i-0fedcba9876543210';
export const TOKEN = '87654321-4321-4321-4321-210987654321';
export const COMMAND_ID = 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b';
/** The fake clock's start: a whole minute, so tick arithmetic is easy to follow. */
export const NOW_MS = Date.parse('2026-12-06T21:00:00Z');

export const TIMING = {
  maxDrainSeconds: 1800,
  heartbeatTimeoutSeconds: 600,
  tickPeriodSeconds: 60,
  expiryGraceSeconds: 300,
  adoptionDelaySeconds: 45,
};

export const DRAINER: OperatorConfig = {
  v: 1,
  document: DOCUMENT,
  hook: HOOK,
  groups: [GROUP],
  timing: TIMING,
};

export const mocks = {
  cloudFormation: mockClient(CloudFormationClient),
  autoScaling: mockClient(AutoScalingClient),
  ssm: mockClient(SSMClient),
};

/** Resets every mock and serves the stack (with `drainer` as its output, null: none) and an empty fleet. */
export function resetMocks(drainer: OperatorConfig | null = DRAINER): void {
  for (const mock of Object.values(mocks)) mock.reset();
  mocks.cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: STACK,
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(NOW_MS - 86_400_000),
        Outputs: [
          { OutputKey: 'Unrelated', OutputValue: 'x', Description: 'something else' },
          ...(drainer === null
            ? []
            : [
                {
                  OutputKey: 'DrainerOperatorConfig',
                  OutputValue: JSON.stringify(drainer),
                  Description: OPERATOR_OUTPUT_DESCRIPTION,
                },
              ]),
        ],
      },
    ],
  });
  mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  mocks.autoScaling.on(DescribeWarmPoolCommand).rejects(queryError('ValidationError', 'No warm pool found'));
  mocks.autoScaling.on(DescribeLifecycleHooksCommand).resolves({
    LifecycleHooks: [
      {
        LifecycleHookName: HOOK,
        AutoScalingGroupName: GROUP,
        HeartbeatTimeout: TIMING.heartbeatTimeoutSeconds,
        GlobalTimeout: 100 * TIMING.heartbeatTimeoutSeconds,
      },
    ],
  });
  mocks.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
}

/** Instances of GROUP in these lifecycle states. */
export function serveGroup(instances: Record<string, string>): void {
  mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: GROUP,
        MinSize: 0,
        MaxSize: 10,
        DesiredCapacity: 1,
        DefaultCooldown: 300,
        AvailabilityZones: ['eu-west-1a'],
        HealthCheckType: 'EC2',
        CreatedTime: new Date(NOW_MS - 86_400_000),
        Instances: Object.entries(instances).map(([InstanceId, LifecycleState]) => ({
          InstanceId,
          LifecycleState: LifecycleState as never,
          AvailabilityZone: 'eu-west-1a',
          HealthStatus: 'Healthy',
          ProtectedFromScaleIn: false,
        })),
      },
    ],
  });
}

/** SSM agents Online (or in the given ping status), pinged a minute ago. */
export function serveAgents(agents: Record<string, string>): void {
  mocks.ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: Object.entries(agents).map(([InstanceId, PingStatus]) => ({
      InstanceId,
      PingStatus: PingStatus as never,
      LastPingDateTime: new Date(NOW_MS - 60_000),
    })),
  });
}

/** The drain document's parameters as the Lambda sends them. */
export function drainParameters(overrides: Record<string, string> = {}): Record<string, string[]> {
  const values: Record<string, string> = {
    drainId: TOKEN,
    deadline: '2026-12-06T21:20:00Z',
    instanceId: INSTANCE,
    autoScalingGroupName: GROUP,
    lifecycleHookName: HOOK,
    action: 'drain',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]]));
}

export const queryError = (name: string, message: string) =>
  new AutoScalingServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });

export const cloudFormationError = (name: string, message: string) =>
  new CloudFormationServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });

export const ssmError = (name: string, message: string) =>
  new SSMServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message });

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Milliseconds the fake clock advanced (sleeps). */
  sleptMs: number;
}

/** Runs one operator command as the bin does (with --region REGION unless given), on the fake clock. */
export async function run(command: OperatorCommand, args: string[], startMs = NOW_MS): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let now = startMs;
  const io: OperatorIo = {
    env: {},
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    nowMs: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    // Fixed credentials: the mocks answer before the SDK would sign anything.
    clients: (choice) => createClients(choice),
  };
  const region = args.includes('--region') ? [] : ['--region', REGION];
  const code = await operatorMain(command, [...args, ...region], io);
  return { code, stdout, stderr, sleptMs: now - startMs };
}

/** The number of calls every mocked client received. */
export function awsCallCount(): number {
  return Object.values(mocks).reduce((sum, mock) => sum + mock.calls().length, 0);
}
