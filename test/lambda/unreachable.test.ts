// A drain SSM never delivered: SSM keeps an undelivered command Pending until TimeoutSeconds plus the
// document's execution timeout (monitor-commands.html), about a whole drain. The tick completes it as
// unreachable once DELIVERY_TIMEOUT_SECONDS have passed and the instance's SSM Agent is not Online.

import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { CancelCommandCommand, DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { DELIVERY_TIMEOUT_SECONDS } from '../../lambda/decide/drain-command';
import { AGENT_LOST_MS } from '../../lambda/decide/plan-tick';
import {
  type AwsMocks,
  COMMAND_ID,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  groupWith,
  INSTANCE,
  listedCommand,
  makeHandler,
  mockAws,
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
  aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [groupWith([{}])] });
});

/** The instance's agent: its ping status, and its last ping a minute before the tick. */
function agent(pingStatus: string, tickMs: number) {
  aws.ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: [
      { InstanceId: INSTANCE, PingStatus: pingStatus as never, LastPingDateTime: new Date(tickMs - 60_000) },
    ],
  });
}

async function tickAt(ms: number) {
  const { handler } = makeHandler({ nowMs: ms });
  return JSON.parse((await handler(tickEvent(new Date(ms).toISOString()))).result) as Record<string, unknown>;
}

describe('a drain command SSM never delivered', () => {
  const tickMs = FIRST_DUE_TICK_MS;

  it('is completed as unreachable, then cancelled, at its heartbeat when the agent is not Online', async () => {
    // Outage prevented: an instance whose agent went offline right after SendCommand was held (and
    // heartbeated) for TimeoutSeconds + the execution timeout, about an hour, before SSM gave up.
    expect(tickMs - EVENT_MS).toBeGreaterThanOrEqual(DELIVERY_TIMEOUT_SECONDS * 1000);
    expect(60_000).toBeLessThan(AGENT_LOST_MS); // the agent's last ping alone would not say gone yet
    serveCommands(aws, [listedCommand({ Status: 'Pending', RequestedDateTime: new Date(EVENT_MS) })]);
    agent('ConnectionLost', tickMs);
    const summary = await tickAt(tickMs);
    expect(summary).toMatchObject({ unreachable: 1, heartbeats: 0, cancelled: 1 });
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(aws.ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: COMMAND_ID });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringMatching(/never delivered/),
    });
  });

  it.each([
    ['its agent is Online (SSM is about to deliver)', 'Pending', 'Online'],
    [
      'it was delivered (InProgress) and the agent lost its connection only a minute ago',
      'InProgress',
      'ConnectionLost',
    ],
  ])('is heartbeated when %s', async (_, status, pingStatus) => {
    serveCommands(aws, [listedCommand({ Status: status as never, RequestedDateTime: new Date(EVENT_MS) })]);
    agent(pingStatus, tickMs);
    const summary = await tickAt(tickMs);
    expect(summary).toMatchObject({ unreachable: 0, heartbeats: 1 });
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});

describe('a host that died under its drain', () => {
  it('is completed as unreachable and its command cancelled once SSM has lost its agent', async () => {
    serveWaitingInstance(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    aws.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const order: string[] = [];
    aws.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      order.push('complete');
      return {};
    });
    aws.ssm.on(CancelCommandCommand).callsFake(() => {
      order.push('cancel');
      return {};
    });
    await tickHandlerAt(FIRST_DUE_TICK_MS);
    expect(order).toEqual(['complete', 'cancel']);
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'unreachable' });
  });

  it('leaves a drain alone whose agent is online, and heartbeats it', async () => {
    serveWaitingInstance(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    await tickHandlerAt(FIRST_DUE_TICK_MS);
    expect(aws.ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: [INSTANCE] }],
    });
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('looks up only the agents of drains due a heartbeat (the others cost no call)', async () => {
    serveWaitingInstance(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    await tickHandlerAt(FIRST_DUE_TICK_MS + 60_000);
    expect(aws.ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });
});
