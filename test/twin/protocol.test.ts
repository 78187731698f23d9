// The twin's wire protocols, checked with the real SDK v3 clients: what they parse is what the handler gets.

import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../twin/agents';
import { autoScalingAction } from '../../twin/auto-scaling-api';
import { ManualClock } from '../../twin/clock';
import { CommandsModel, type InvocationRunner, type RunResult } from '../../twin/commands';
import type { BusEvent } from '../../twin/event-envelope';
import { putEvents } from '../../twin/events-api';
import { ApiFaults } from '../../twin/faults';
import { AutoScalingModel, type LifecycleAction } from '../../twin/lifecycle';
import { type ApiServer, startApiServer } from '../../twin/server';
import { ssmOperation } from '../../twin/ssm-api';

const clock = new ManualClock();
const started: LifecycleAction[] = [];
const published: BusEvent[] = [];
const pending = new Map<string, (result: RunResult) => void>();
const runner: InvocationRunner = {
  isOnline: (id) => id !== 'i-0000000000000dead',
  run: (command, instanceId, done) => {
    pending.set(`${command.commandId}/${instanceId}`, done);
    return { kill: () => done({ exitCode: -1, stdout: '', stderr: 'killed' }) };
  },
};
const autoScaling = new AutoScalingModel(clock, {
  actionStarted: (action) => started.push(action),
  instanceState: () => {},
});
const documents = new Map([
  [
    'FleetDrain',
    {
      schemaVersion: '2.2',
      parameters: {
        drainId: { type: 'String', allowedPattern: '^[a-z0-9-]+$', interpolationType: 'ENV_VAR' },
      },
      mainSteps: [
        { action: 'aws:runShellScript', name: 'drain', inputs: { runCommand: ['echo "$SSM_drainId"'] } },
      ],
    },
  ],
]);
const commands = new CommandsModel(clock, documents, runner, { invocationChanged: () => {} });
const faults = new ApiFaults();
const agents = new AgentRegistry();
let server: ApiServer;
let asg: AutoScalingClient;
let ssm: SSMClient;
let events: EventBridgeClient;

beforeAll(async () => {
  server = await startApiServer({
    now: () => clock.now(),
    faults,
    autoScaling: (params) => autoScalingAction(autoScaling, params, clock.now()),
    json: (service, operation, input) =>
      service === 'ssm'
        ? ssmOperation(commands, agents, operation, input, clock.now())
        : putEvents(input, clock.now(), (event) => published.push(event)),
  });
  const options = {
    endpoint: server.url,
    region: 'us-west-2',
    credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' },
    maxAttempts: 1,
  };
  asg = new AutoScalingClient(options);
  ssm = new SSMClient(options);
  events = new EventBridgeClient(options);
  autoScaling.createGroup('web', [{ name: 'drain', heartbeatTimeoutMs: 300_000, defaultResult: 'CONTINUE' }]);
  for (let n = 0; n < 120; n += 1) autoScaling.addInstance('web', `i-${n.toString(16).padStart(17, '0')}`);
});

afterAll(async () => {
  for (const client of [asg, ssm, events]) client.destroy();
  await server.close();
});

describe('Auto Scaling Query API', () => {
  it('pages DescribeAutoScalingGroups instances and parses dates and booleans', async () => {
    const page = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web', 'nope'] }),
    );
    expect(page.AutoScalingGroups).toHaveLength(1);
    const group = page.AutoScalingGroups?.[0];
    expect(group?.Instances).toHaveLength(120);
    expect(group?.CreatedTime).toBeInstanceOf(Date);
    expect(group?.Instances?.[0]).toMatchObject({ LifecycleState: 'InService', ProtectedFromScaleIn: false });
  });

  it('pages DescribeAutoScalingInstances with NextToken', async () => {
    const first = await asg.send(new DescribeAutoScalingInstancesCommand({ MaxRecords: 50 }));
    expect(first.AutoScalingInstances).toHaveLength(50);
    expect(first.NextToken).toBeTruthy();
    const second = await asg.send(
      new DescribeAutoScalingInstancesCommand({ MaxRecords: 50, NextToken: first.NextToken }),
    );
    const third = await asg.send(
      new DescribeAutoScalingInstancesCommand({ MaxRecords: 50, NextToken: second.NextToken }),
    );
    expect(third.AutoScalingInstances).toHaveLength(20);
    expect(third.NextToken).toBeUndefined();
  });

  it('terminates through the hook and completes by token; a second completion is a ValidationError', async () => {
    const activity = await asg.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: 'i-00000000000000001',
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(activity.Activity?.StatusCode).toBe('InProgress');
    expect(activity.Activity?.StartTime).toBeInstanceOf(Date);
    const action = started.at(-1) as LifecycleAction;
    const ref = { AutoScalingGroupName: 'web', LifecycleHookName: 'drain' };
    await asg.send(new RecordLifecycleActionHeartbeatCommand({ ...ref, InstanceId: action.instanceId }));
    await asg.send(
      new CompleteLifecycleActionCommand({
        ...ref,
        LifecycleActionToken: action.token,
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    const again = asg.send(
      new CompleteLifecycleActionCommand({
        ...ref,
        LifecycleActionToken: action.token,
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    await expect(again).rejects.toMatchObject({
      name: 'ValidationError',
      message: `No active Lifecycle Action found with token ${action.token}`,
      $metadata: { httpStatusCode: 400 },
    });
    const byInstance = asg.send(
      new RecordLifecycleActionHeartbeatCommand({ ...ref, InstanceId: action.instanceId }),
    );
    await expect(byInstance).rejects.toMatchObject({
      name: 'ValidationError',
      message: `No active Lifecycle Action found with instance ID ${action.instanceId}`,
    });
  });

  it('describes an empty warm pool, and refuses more than 50 records per page as the API reference says', async () => {
    const pool = await asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: 'web', MaxRecords: 50 }));
    expect(pool.Instances).toEqual([]);
    expect(pool.WarmPoolConfiguration).toBeUndefined();
    await expect(
      asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: 'web', MaxRecords: 100 })),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });

  it('describes a warm pool with its state and instances; the group lists none of them, DescribeAutoScalingInstances does', async () => {
    autoScaling.createGroup('pooled', [
      { name: 'drain', heartbeatTimeoutMs: 300_000, defaultResult: 'CONTINUE' },
    ]);
    autoScaling.addInstance('pooled', 'i-0000000000000beef');
    autoScaling.addInstance('pooled', 'i-0000000000000cafe');
    autoScaling.putWarmPool('pooled', { poolState: 'Hibernated', reuseOnScaleIn: true });
    autoScaling.setDesiredCapacity('pooled', 1);
    const pool = await asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: 'pooled' }));
    expect(pool.WarmPoolConfiguration).toMatchObject({
      PoolState: 'Hibernated',
      InstanceReusePolicy: { ReuseOnScaleIn: true },
    });
    expect(pool.Instances).toMatchObject([
      { InstanceId: 'i-0000000000000beef', LifecycleState: 'Warmed:Pending:Wait' },
    ]);
    const groups = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['pooled'] }),
    );
    expect(groups.AutoScalingGroups?.[0]?.Instances?.map((i) => i.InstanceId)).toEqual([
      'i-0000000000000cafe',
    ]);
    const instances = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: ['i-0000000000000beef'] }),
    );
    expect(instances.AutoScalingInstances?.[0]?.LifecycleState).toBe('Warmed:Pending:Wait');
  });

  it('answers an injected ResourceContention with HTTP 500, which the SDK maps to its modeled fault', async () => {
    faults.fail(
      'autoscaling',
      'DescribeAutoScalingGroups',
      'ResourceContention',
      'You already have a pending update',
      500,
    );
    await expect(asg.send(new DescribeAutoScalingGroupsCommand({}))).rejects.toMatchObject({
      name: 'ResourceContentionFault',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
  });

  it('answers injected throttling as Throttling / Rate exceeded', async () => {
    faults.throttle('autoscaling', 'DescribeAutoScalingGroups');
    await expect(asg.send(new DescribeAutoScalingGroupsCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe('SSM JSON API', () => {
  it('sends a command, hides the invocation briefly, then reports it', async () => {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'FleetDrain',
        InstanceIds: ['i-00000000000000002'],
        Parameters: { drainId: ['abc-1'] },
        TimeoutSeconds: 120,
      }),
    );
    const commandId = sent.Command?.CommandId as string;
    commands.advance();
    expect(sent.Command?.RequestedDateTime).toBeInstanceOf(Date);
    expect(sent.Command?.Parameters).toEqual({ drainId: ['abc-1'] });
    const early = ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: 'i-00000000000000002' }),
    );
    await expect(early).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    clock.advance(2000);
    pending.get(`${commandId}/i-00000000000000002`)?.({
      exitCode: 0,
      stdout: 'x'.repeat(30_000),
      stderr: 'e'.repeat(9000),
    });
    const invocation = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: 'i-00000000000000002' }),
    );
    expect(invocation).toMatchObject({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      PluginName: 'drain',
    });
    expect(invocation.StandardOutputContent).toHaveLength(24_000);
    expect(invocation.StandardErrorContent).toHaveLength(8000);
  });

  it('refuses an instance without an agent and a parameter that fails its pattern', async () => {
    const offline = ssm.send(
      new SendCommandCommand({
        DocumentName: 'FleetDrain',
        InstanceIds: ['i-0000000000000dead'],
        Parameters: { drainId: ['a'] },
      }),
    );
    await expect(offline).rejects.toMatchObject({
      name: 'InvalidInstanceId',
      message: expect.stringContaining('i-0000000000000dead'),
    });
    const invalid = ssm.send(
      new SendCommandCommand({
        DocumentName: 'FleetDrain',
        InstanceIds: ['i-00000000000000003'],
        Parameters: { drainId: ['A B'] },
      }),
    );
    await expect(invalid).rejects.toMatchObject({ name: 'InvalidParameters' });
  });

  it('lists commands by document, status and time, in pages, and cancels one', async () => {
    for (let n = 0; n < 3; n += 1) {
      await ssm.send(
        new SendCommandCommand({
          DocumentName: 'FleetDrain',
          InstanceIds: ['i-00000000000000004'],
          Parameters: { drainId: [`p${n}`] },
        }),
      );
    }
    commands.advance();
    const filters = [
      { key: 'DocumentName' as const, value: 'FleetDrain' },
      { key: 'Status' as const, value: 'InProgress' },
    ];
    const first = await ssm.send(new ListCommandsCommand({ Filters: filters, MaxResults: 2 }));
    expect(first.Commands).toHaveLength(2);
    const second = await ssm.send(
      new ListCommandsCommand({ Filters: filters, MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(second.Commands).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
    const future = await ssm.send(
      new ListCommandsCommand({
        Filters: [{ key: 'InvokedAfter' as const, value: new Date(clock.now() + 1000).toISOString() }],
      }),
    );
    expect(future.Commands).toEqual([]);
    const newest = first.Commands?.[0]?.CommandId as string;
    await ssm.send(new CancelCommandCommand({ CommandId: newest, InstanceIds: ['i-00000000000000004'] }));
    clock.advance(2000);
    const listed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: newest, Details: true }));
    expect(listed.CommandInvocations?.[0]).toMatchObject({
      Status: 'Cancelled',
      CommandPlugins: [{ Name: 'drain' }],
    });
    await expect(
      ssm.send(new ListCommandsCommand({ CommandId: '00000000-0000-0000-0000-000000000000' })),
    ).rejects.toMatchObject({ name: 'InvalidCommandId' });
    await expect(ssm.send(new ListCommandsCommand({ NextToken: 'bogus' }))).rejects.toMatchObject({
      name: 'InvalidNextToken',
    });
  });

  it('filters ListCommandInvocations by invocation status, and refuses ExecutionStage (ListCommands only)', async () => {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'FleetDrain',
        InstanceIds: ['i-00000000000000011', 'i-00000000000000012'],
        Parameters: { drainId: ['s1'] },
      }),
    );
    const commandId = sent.Command?.CommandId as string;
    commands.advance();
    pending.get(`${commandId}/i-00000000000000012`)?.({ exitCode: 0, stdout: '', stderr: '' });
    clock.advance(2000);
    const listed = async (status: string) =>
      (
        await ssm.send(
          new ListCommandInvocationsCommand({
            Filters: [
              { key: 'DocumentName', value: 'FleetDrain' },
              { key: 'Status', value: status },
            ],
          }),
        )
      ).CommandInvocations?.filter((invocation) => invocation.CommandId === commandId).map(
        (invocation) => invocation.InstanceId,
      );
    expect(await listed('InProgress')).toEqual(['i-00000000000000011']);
    expect(await listed('Success')).toEqual(['i-00000000000000012']);
    expect(await listed('Delayed')).toEqual([]);
    // A ListCommands-only status, and ExecutionStage: not filters of this operation.
    await expect(listed('Incomplete')).rejects.toMatchObject({ name: 'InvalidFilterKey' });
    await expect(
      ssm.send(
        new ListCommandInvocationsCommand({ Filters: [{ key: 'ExecutionStage', value: 'Executing' }] }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
    // ListCommands keeps both.
    const executing = await ssm.send(
      new ListCommandsCommand({ Filters: [{ key: 'ExecutionStage', value: 'Executing' }] }),
    );
    expect(executing.Commands?.map((command) => command.CommandId)).toContain(commandId);
    await expect(
      ssm.send(new ListCommandsCommand({ Filters: [{ key: 'Status', value: 'Delayed' }] })),
    ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
  });

  it('describes agents: Online with a fresh ping, ConnectionLost with the last one', async () => {
    agents.register('i-00000000000000005', clock.now());
    agents.register('i-00000000000000006', clock.now());
    const lostAt = clock.now();
    agents.setOnline('i-00000000000000006', false, lostAt);
    clock.advance(60_000);
    const info = await ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: ['i-00000000000000005', 'i-00000000000000006'] }],
        MaxResults: 50,
      }),
    );
    expect(
      info.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus, i.LastPingDateTime?.getTime()]),
    ).toEqual([
      ['i-00000000000000005', 'Online', clock.now()],
      ['i-00000000000000006', 'ConnectionLost', lostAt],
    ]);
  });

  it('refuses a DescribeInstanceInformation filter naming an instance SSM does not know (terminated): InvalidInstanceId', async () => {
    agents.register('i-00000000000000007', clock.now());
    agents.register('i-00000000000000008', clock.now());
    agents.remove('i-00000000000000008');
    await expect(
      ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: ['i-00000000000000007', 'i-00000000000000008'] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidInstanceId' });
  });

  it('answers injected throttling as ThrottlingException', async () => {
    faults.throttle('ssm', 'ListCommands');
    await expect(ssm.send(new ListCommandsCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
    });
  });
});

describe('EventBridge PutEvents', () => {
  it('publishes valid entries and fails a malformed one inside a successful response', async () => {
    const response = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'fleet-drainer', DetailType: 'Fleet Drain Started', Detail: '{"instanceId":"i-1"}' },
          { Source: 'fleet-drainer', DetailType: 'Fleet Drain Started', Detail: 'not json' },
        ],
      }),
    );
    expect(response.FailedEntryCount).toBe(1);
    expect(response.Entries?.[0]?.EventId).toBeTruthy();
    expect(response.Entries?.[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(published.at(-1)).toMatchObject({ source: 'fleet-drainer', detail: { instanceId: 'i-1' } });
  });
});
