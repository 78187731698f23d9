// Each command makes exactly the AWS calls operator/README.md lists for it, and no other: the ones
// FleetDrainer.grantOperator grants (lib/operator-access.ts). Plan mode writes nothing: no lifecycle call,
// one SendCommand.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { beforeEach, expect, it } from 'vitest';
import { formatPlanOutput } from '../../common/plan-output';
import { OPERATOR_CALLS } from '../../lib/operator-access';
import {
  COMMAND_ID,
  DOCUMENT,
  drainParameters,
  GROUP,
  INSTANCE,
  mocks,
  NOW_MS,
  OTHER,
  resetMocks,
  run,
  serveAgents,
  serveGroup,
  TOKEN,
} from './helpers';

const SERVICE = { cloudFormation: 'cloudformation', autoScaling: 'autoscaling', ssm: 'ssm' } as const;

/** Every call the mocks received, as IAM actions (`ssm:ListCommands`). */
function actionsCalled(): Set<string> {
  const actions = new Set<string>();
  for (const [client, mock] of Object.entries(mocks)) {
    for (const call of mock.calls()) {
      const name = (call.args[0] as object).constructor.name.replace(/Command$/, '');
      actions.add(`${SERVICE[client as keyof typeof SERVICE]}:${name}`);
    }
  }
  return actions;
}

/** The actions operator/README.md lists for a command, with those listed for all. */
function documented(command: string): Set<string> {
  const readme = readFileSync(join(__dirname, '../../operator/README.md'), 'utf8');
  const row = (name: string) =>
    [
      ...(new RegExp(`^\\| ${name} \\| (.*) \\|$`, 'm').exec(readme)?.[1] ?? '').matchAll(
        /`([a-z]+:[A-Za-z]+)`/g,
      ),
    ].map((match) => match[1] as string);
  return new Set([...row('all'), ...row(`\`${command}\``)]);
}

beforeEach(() => {
  resetMocks();
  serveGroup({ [INSTANCE]: 'Terminating:Wait' });
  serveAgents({ [INSTANCE]: 'Online' });
  // A batched start still running: its drains are read per invocation (ListCommandInvocations).
  mocks.ssm.on(ListCommandsCommand).resolves({
    Commands: [
      {
        CommandId: COMMAND_ID,
        DocumentName: DOCUMENT,
        Parameters: drainParameters({
          drainIds: `${INSTANCE}=${TOKEN},${OTHER}=${TOKEN.replace(/^8/, '9')}`,
        }),
        RequestedDateTime: new Date(NOW_MS - 60_000),
        Status: 'InProgress',
      },
    ],
  });
  mocks.ssm.on(ListCommandInvocationsCommand).resolves({
    CommandInvocations: [
      { CommandId: COMMAND_ID, InstanceId: INSTANCE, Status: 'InProgress' },
      { CommandId: COMMAND_ID, InstanceId: OTHER, Status: 'Success' },
    ],
  });
  mocks.ssm.on(GetCommandInvocationCommand).resolves({
    Status: 'Success',
    StandardOutputContent: formatPlanOutput({
      version: 1,
      targets: [
        { name: 'web', kind: 'process', schedule: 'TERM', after: [], matches: 1, processes: [{ pid: 7 }] },
      ],
    }),
  });
  mocks.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  mocks.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [
      {
        InstanceId: INSTANCE,
        AutoScalingGroupName: GROUP,
        AvailabilityZone: 'eu-west-1a',
        LifecycleState: 'InService',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
      },
    ],
  });
});

it.each([
  ['status', []],
  ['report', [INSTANCE]],
  ['plan', ['--instance', INSTANCE]],
] as const)('%s calls exactly what operator/README.md lists', async (command, args) => {
  const result = await run(command, [...args]);
  expect(result.stderr).toBe('');
  expect(actionsCalled()).toEqual(documented(command));
  // And what grantOperator grants for it.
  expect(actionsCalled()).toEqual(new Set(OPERATOR_CALLS[command]));
});

it('plan sends one command and calls nothing that changes a lifecycle action', async () => {
  await run('plan', ['--instance', INSTANCE]);
  expect(mocks.autoScaling.calls().map((call) => (call.args[0] as object).constructor.name)).toEqual([
    'DescribeAutoScalingInstancesCommand',
  ]);
  expect(mocks.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  expect(mocks.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters?.action).toEqual(['plan']);
});
