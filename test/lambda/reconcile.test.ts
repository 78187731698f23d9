// The reconcile tick heartbeats in-flight drains (once per H/2), finishes drains whose
// status event was lost, adopts instances whose lifecycle event was lost, cancels commands whose action is
// gone, and completes drains past deadline + grace as expired.

import {
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  type Instance,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CancelCommandCommand,
  type Command,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidInstanceId,
  ListCommandsCommand,
  SendCommandCommand,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/config';
import { drainLifetimeMs, SETTLE_MS } from '../../lambda/decide/plan-tick';
import { LOST_STATUS_EVENT_MS } from '../../lambda/workflows/reconcile';
import {
  type AwsMocks,
  COMMAND_ID,
  ENV,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  groupWith,
  H_SECONDS,
  HOOK,
  INSTANCE,
  listedCommand,
  MAX_DRAIN_SECONDS,
  makeHandler,
  mockAws,
  noActiveByInstance,
  reportJson,
  sentEvents,
  serveCommands,
  serveWaitingInstance,
  TOKEN,
  tickEvent,
  tickHandlerAt,
} from './helpers';

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
});

const REQUESTED_MS = EVENT_MS + 1000;

function config() {
  const parsed = parseConfig(ENV);
  if (!parsed.ok) throw new Error('invalid test configuration');
  return parsed.config;
}
/** Ticks fall on whole minutes; the first one of the drain's second heartbeat slot, and the one after it. */
const NEXT_TICK_MS = FIRST_DUE_TICK_MS + 60_000;

function fleet(commands: Command[], instances: Partial<Instance>[]) {
  serveCommands(aws, commands);
  aws.autoScaling
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupWith(instances)] });
}

/** A tick whose scheduled time is `ms` (also the clock). */
async function tickAt(ms: number, env = ENV) {
  const context = makeHandler({ nowMs: ms, env });
  const result = await context.handler(tickEvent(new Date(ms).toISOString()));
  return { ...context, result };
}

describe('reconcile: heartbeats', () => {
  it('heartbeats an in-flight drain on the first tick after each H/2, by token', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    const { metrics } = await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
    });
    expect(metrics.total('Heartbeats')).toBe(1);
  });

  it('does not heartbeat on the next tick of the same H/2', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    await tickAt(NEXT_TICK_MS);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('does not heartbeat before the first H/2', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    await tickAt(REQUESTED_MS + 60_000);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('heartbeats a drain once even when a duplicate event sent its command twice', async () => {
    fleet(
      [
        listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) }),
        listedCommand({
          CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c',
          RequestedDateTime: new Date(REQUESTED_MS + 2000),
        }),
      ],
      [{}],
    );
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('cancels the command when the heartbeat finds no active lifecycle action', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    aws.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(
      new AutoScalingServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: {},
        message: `No active Lifecycle Action found with token ${TOKEN}`,
      }),
    );
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.ssm).toHaveReceivedCommandExactlyOnceWith(CancelCommandCommand, {
      CommandId: COMMAND_ID,
      InstanceIds: [INSTANCE],
    });
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('keeps going after one failed heartbeat, then fails the tick so Lambda retries it', async () => {
    const other = 'i-0aaaaaaaaaaaaaaa1';
    fleet(
      [
        listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) }),
        listedCommand({
          CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c',
          RequestedDateTime: new Date(REQUESTED_MS),
          params: { instanceId: other, drainId: '11111111-2222-3333-4444-555555555555' },
        }),
      ],
      [{}, { InstanceId: other }],
    );
    aws.autoScaling.on(RecordLifecycleActionHeartbeatCommand, { LifecycleActionToken: TOKEN }).rejects(
      new AutoScalingServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    const context = makeHandler({ nowMs: FIRST_DUE_TICK_MS });
    await expect(context.handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()))).rejects.toThrow(
      /1 reconcile step/,
    );
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
  });
});

describe('reconcile: lost status events', () => {
  it('finishes a terminal command whose instance still waits', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    const { result } = await tickAt(REQUESTED_MS + 200_000);
    expect(aws.ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, {
      CommandId: COMMAND_ID,
      InstanceId: INSTANCE,
    });
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]).toMatchObject({
      detailType: 'Fleet Drain Finished',
      detail: { outcome: 'drained' },
    });
    expect(JSON.parse(result.result)).toMatchObject({ finished: 1 });
  });

  it('leaves a terminal command alone once its instance is gone', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(REQUESTED_MS) })], []);
    await tickAt(REQUESTED_MS + 200_000);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
  });
});

describe('reconcile: actions that are gone', () => {
  it.each([
    ['gone', []],
    ['Terminating:Proceed', [{ LifecycleState: 'Terminating:Proceed' }]],
    ['InService', [{ LifecycleState: 'InService' }]],
  ] as [string, Partial<Instance>[]][])(
    'cancels a running command whose instance is %s',
    async (_, instances) => {
      fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], instances);
      const { metrics } = await tickAt(REQUESTED_MS + SETTLE_MS + 1000);
      expect(aws.ssm).toHaveReceivedCommandExactlyOnceWith(CancelCommandCommand, {
        CommandId: COMMAND_ID,
        InstanceIds: [INSTANCE],
      });
      expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
      expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
      expect(metrics.total('LifecycleActionsGone')).toBe(1);
    },
  );

  it('does not cancel a command younger than the settle time (describe calls may lag)', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], []);
    await tickAt(REQUESTED_MS + 10_000);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('does not cancel again while SSM is cancelling', async () => {
    fleet([listedCommand({ Status: 'Cancelling', RequestedDateTime: new Date(REQUESTED_MS) })], []);
    await tickAt(REQUESTED_MS + SETTLE_MS + 1000);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});

describe('reconcile: deadline', () => {
  it('completes a drain still running past deadline + grace as expired, then cancels it', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    const order: string[] = [];
    aws.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      order.push('complete');
      return {};
    });
    aws.ssm.on(CancelCommandCommand).callsFake(() => {
      order.push('cancel');
      return {};
    });
    const { metrics } = await tickAt(EVENT_MS + MAX_DRAIN_SECONDS * 1000 + 300_000 + 60_000);
    expect(order).toEqual(['complete', 'cancel']);
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'expired', commandId: COMMAND_ID });
    expect(metrics.total('DrainsFinished', 'expired')).toBe(1);
  });

  it('lets a drain run on within the grace after its deadline', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    await tickAt(EVENT_MS + MAX_DRAIN_SECONDS * 1000 + 60_000);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});

describe('reconcile: adoption of instances whose lifecycle event was lost', () => {
  it('adopts an instance in Terminating:Wait with no command after the adoption delay', async () => {
    fleet([], [{}]);
    const { clock, metrics } = await tickAt(EVENT_MS + 120_000);
    expect(clock.sleeps).toContain(30_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const parameters = aws.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters;
    // Unique per life of the instance: the tick's minute (10:02).
    expect(parameters?.drainId).toEqual([`adopted-${INSTANCE}-202611221002`]);
    expect(parameters?.autoScalingGroupName).toEqual([GROUP]);
    expect(parameters?.lifecycleHookName).toEqual([HOOK]);
    // Restart the action's heartbeat timeout at once, by instance id (no token is known).
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      InstanceId: INSTANCE,
    });
    expect(sentEvents(aws)[0]).toMatchObject({
      detailType: 'Fleet Drain Started',
      detail: { adopted: true, lifecycleActionToken: null },
    });
    expect(metrics.total('Adoptions')).toBe(1);
  });

  it('adopts past a finished command too old to own the current action (warm-pool reuse)', async () => {
    const nowMs = EVENT_MS + drainLifetimeMs(config()) + 60_000;
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })], [{}]);
    await tickAt(nowMs);
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(aws.ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
  });

  it('does not adopt an instance whose drain ended (lost status event: it is completed, not adopted)', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })], [{}]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportJson(),
      ExecutionEndDateTime: new Date(EVENT_MS + 600_000 - LOST_STATUS_EVENT_MS - 1000).toISOString(),
    });
    await tickAt(EVENT_MS + 600_000);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('leaves a drain that ended moments ago to its status event (no second completion)', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })], [{}]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportJson(),
      ExecutionEndDateTime: new Date(EVENT_MS + 590_000).toISOString(),
    });
    const { result } = await tickAt(EVENT_MS + 600_000);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(JSON.parse(result.result)).toMatchObject({ finished: 0, adopted: 0 });
  });

  it('does not adopt when a drain command shows up during the delay', async () => {
    aws.ssm
      .on(ListCommandsCommand)
      .resolvesOnce({ Commands: [] })
      .resolves({ Commands: [listedCommand({ RequestedDateTime: new Date(EVENT_MS + 5000) })] });
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [groupWith([{}])] });
    await tickAt(EVENT_MS + 10_000);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('does not adopt when the instance left Terminating:Wait during the delay', async () => {
    fleet([], [{}]);
    aws.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    await tickAt(EVENT_MS + 120_000);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('does not adopt instances that are in service, or in groups that are not configured', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [] });
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        groupWith([{ LifecycleState: 'InService' }]),
        groupWith([{ InstanceId: 'i-0bbbbbbbbbbbbbbb2' }], 'not-ours'),
      ],
    });
    const { clock } = await tickAt(EVENT_MS + 120_000);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(clock.sleeps).toEqual([]);
  });

  it('completes an adopted instance that SSM cannot reach as unreachable, by instance id', async () => {
    fleet([], [{}]);
    aws.ssm.on(SendCommandCommand).rejects(new InvalidInstanceId({ $metadata: {}, message: 'not managed' }));
    await tickAt(EVENT_MS + 120_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      InstanceId: INSTANCE,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'unreachable', adopted: true });
  });
});

describe('reconcile: listings', () => {
  it('follows every page of ListCommands and DescribeAutoScalingGroups', async () => {
    const second = 'i-0ccccccccccccccc3';
    aws.ssm
      .on(ListCommandsCommand)
      .resolvesOnce({
        Commands: [listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })],
        NextToken: 'c2',
      })
      .resolves({
        Commands: [
          listedCommand({
            CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c',
            RequestedDateTime: new Date(REQUESTED_MS),
            params: { instanceId: second, drainId: '11111111-2222-3333-4444-555555555555' },
          }),
        ],
      });
    aws.autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [groupWith([{}])], NextToken: 'g2' })
      .resolves({ AutoScalingGroups: [groupWith([{ InstanceId: second }], 'other-asg')] });
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, { NextToken: 'c2' });
    expect(aws.autoScaling).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { NextToken: 'g2' });
    // The second command's instance is on page 2 but belongs to GROUP per its parameters: it is not waiting
    // in GROUP, so only the first drain is heartbeated.
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('only lists commands of the document within the history window', async () => {
    fleet([], []);
    await tickAt(EVENT_MS);
    const filters = aws.ssm.commandCalls(ListCommandsCommand)[0]?.args[0].input.Filters ?? [];
    expect(filters).toContainEqual({ key: 'DocumentName', value: 'FleetDrain-Doc' });
    const after = filters.find((filter) => filter.key === 'InvokedAfter')?.value ?? '';
    expect(Date.parse(after)).toBeLessThan(EVENT_MS - (MAX_DRAIN_SECONDS + H_SECONDS) * 1000);
  });

  it('asks for the configured groups only', async () => {
    fleet([], []);
    await tickAt(EVENT_MS);
    expect(aws.autoScaling).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, {
      AutoScalingGroupNames: [GROUP, 'other-asg'],
    });
  });
});

describe('reconcile: what it lists', () => {
  const filtersOf = (call: { args: [{ input: { Filters?: { key?: string; value?: string }[] } }] }) =>
    (call.args[0].input.Filters ?? []).map(
      (filter) => `${filter.key}=${filter.key === 'InvokedAfter' ? '…' : filter.value}`,
    );

  it('lists only the executing commands when every waiting instance has a running drain', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    await tickAt(NEXT_TICK_MS);
    const calls = aws.ssm.commandCalls(ListCommandsCommand);
    expect(calls).toHaveLength(1);
    expect(filtersOf(calls[0] as never)).toContain('ExecutionStage=Executing');
  });

  it('looks up the finished commands of a waiting instance without a running drain, one by one', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(REQUESTED_MS) })], [{}]);
    await tickAt(NEXT_TICK_MS);
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, { InstanceId: INSTANCE });
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('lists the whole history instead when many instances wait without a running drain', async () => {
    const ids = Array.from({ length: 30 }, (_, index) => `i-0${String(index).padStart(16, '0')}`);
    serveCommands(
      aws,
      ids.map((id, index) =>
        listedCommand({
          CommandId: `c${String(index).padStart(7, '0')}-0000-0000-0000-000000000000`,
          Status: 'Success',
          params: { instanceId: id },
        }),
      ),
    );
    aws.autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [groupWith(ids.map((id) => ({ InstanceId: id })))] });
    await tickAt(NEXT_TICK_MS);
    const calls = aws.ssm.commandCalls(ListCommandsCommand).map((call) => call.args[0].input);
    expect(calls.filter((input) => input.InstanceId !== undefined)).toHaveLength(0);
    expect(calls.filter((input) => !JSON.stringify(input.Filters).includes('ExecutionStage'))).toHaveLength(
      1,
    );
  });
});

describe('adoption probes the action of our hook first', () => {
  it('leaves an instance held by another hook alone: no sleep, no drain', async () => {
    serveWaitingInstance(aws, []);
    aws.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveByInstance());
    const { clock } = await tickHandlerAt(EVENT_MS + 120_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      InstanceId: INSTANCE,
      LifecycleHookName: HOOK,
    });
    expect(clock.sleeps).toEqual([]);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});

describe('one permanently failing drain does not fail every tick', () => {
  it('a failing finish is logged with its keys and the tick succeeds', async () => {
    serveWaitingInstance(aws, [listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })]);
    aws.ssm.on(GetCommandInvocationCommand).rejects(
      new SSMServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: {},
        message: 'x',
      }),
    );
    const { result, log } = await tickHandlerAt(EVENT_MS + 300_000);
    expect(JSON.parse(result.result)).toMatchObject({ failures: 1 });
    expect(log.entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'reconcile step failed',
        keys: expect.objectContaining({ instanceId: INSTANCE, drainId: TOKEN, commandId: COMMAND_ID }),
      }),
    );
  });
});

describe('a role without DescribeWarmPool or DescribeInstanceInformation still heartbeats', () => {
  it('heartbeats when the role lacks DescribeWarmPool and DescribeInstanceInformation (logged as configuration errors)', async () => {
    serveWaitingInstance(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    aws.autoScaling.on(DescribeWarmPoolCommand).rejects(
      new AutoScalingServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: {},
        message: 'no',
      }),
    );
    aws.ssm.on(DescribeInstanceInformationCommand).rejects(
      new SSMServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'no',
      }),
    );
    const { result, metrics } = await tickHandlerAt(FIRST_DUE_TICK_MS);
    expect(JSON.parse(result.result)).toMatchObject({ heartbeats: 1, failures: 2, unreachable: 0 });
    expect(metrics.total('ConfigErrors')).toBe(2);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });
});

describe('sleeps stop short of the function timeout', () => {
  it('a tick with too little time left probes but does not sleep the adoption delay', async () => {
    serveWaitingInstance(aws, []);
    const { handler, clock } = makeHandler({ nowMs: EVENT_MS + 120_000 });
    await handler(tickEvent(new Date(EVENT_MS + 120_000).toISOString()), {
      getRemainingTimeInMillis: () => 60_000,
    });
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(clock.sleeps).toEqual([]);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });
});
