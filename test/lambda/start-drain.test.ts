// Starting a drain: a terminate lifecycle action starts exactly one drain command; InvalidInstanceId
// ends as `unreachable` after a bounded grace.

import {
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  InvalidInstanceId,
  ListCommandsCommand,
  SendCommandCommand,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { DRAIN_PARAMETERS } from '../../agent/policy/drain-parameters';
import { ENV_UNREACHABLE_GRACE_SECONDS } from '../../lambda/config';
import { START_LEAD_MS } from '../../lambda/decide/heartbeat-schedule';
import {
  type AwsMocks,
  awsCallCount,
  COMMAND_ID,
  DOCUMENT,
  drainParameters,
  ENV,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  H_SECONDS,
  HOOK,
  INSTANCE,
  lifecycleEvent,
  listedCommand,
  MAX_DRAIN_SECONDS,
  makeHandler,
  mockAws,
  SLOT_MS,
  sentEvents,
  serveWaitingInstance,
  TOKEN,
  tickHandlerAt,
} from './helpers';

/** An event older than H/2: the start looks the instance up before draining it. */
const LATE_MS = EVENT_MS + (H_SECONDS * 1000) / 2 + 1000;

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
});

const unreachable = () =>
  new InvalidInstanceId({
    $metadata: {},
    message: 'Instances [[i-1234567890abcdef0]] not in a valid state for account 123456789012',
  });

describe('start: terminate lifecycle action', () => {
  it('sends one drain command with the document parameters and emits Fleet Drain Started', async () => {
    const { handler, metrics } = makeHandler();

    const result = await handler(lifecycleEvent());

    expect(result).toEqual({ kind: 'lifecycle', result: 'started' });
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(aws.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: DOCUMENT,
      // The newest version: a stack update may leave the default on the old one.
      DocumentVersion: '$LATEST',
      InstanceIds: [INSTANCE],
      Parameters: drainParameters(),
      TimeoutSeconds: 120,
    });
    const input = aws.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input?.Comment?.length).toBeLessThanOrEqual(100);
    // Exactly the document's parameters (with `action`, always sent), each a one-element array; `policy` is a
    // plan's only, and a start of one instance leaves `drainIds` (a batch's) to its default.
    expect(Object.keys(input?.Parameters ?? {}).sort()).toEqual(
      Object.keys(DRAIN_PARAMETERS)
        .filter((name) => name !== 'policy' && name !== 'drainIds')
        .sort(),
    );
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(sentEvents(aws)).toEqual([
      {
        detailType: 'Fleet Drain Started',
        detail: expect.objectContaining({
          instanceId: INSTANCE,
          autoScalingGroupName: GROUP,
          lifecycleHookName: HOOK,
          lifecycleActionToken: TOKEN,
          commandId: COMMAND_ID,
          adopted: false,
          trigger: 'lifecycle',
        }),
      },
    ]);
    expect(aws.events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ Source: 'fleet-drainer', EventBusName: 'default' })],
    });
    expect(metrics.total('DrainsStarted')).toBe(1);
  });

  it('sets the deadline to event time + maximum drain time', async () => {
    const { handler } = makeHandler();
    await handler(lifecycleEvent({}, '2026-11-22T10:00:00.123Z'));
    const deadline = aws.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters?.deadline?.[0];
    expect(deadline).toBe(new Date(EVENT_MS + MAX_DRAIN_SECONDS * 1000).toISOString().replace('.000Z', 'Z'));
    expect(deadline).toMatch(new RegExp(DRAIN_PARAMETERS.deadline.pattern));
  });

  it('looks up existing commands of the document for this instance before sending', async () => {
    const { handler } = makeHandler();
    await handler(lifecycleEvent());
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, {
      InstanceId: INSTANCE,
      Filters: expect.arrayContaining([{ key: 'DocumentName', value: DOCUMENT }]),
    });
  });

  it('sends nothing for a duplicate event whose token already has a command', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand()] });
    const { handler } = makeHandler();

    const result = await handler(lifecycleEvent());

    expect(result.result).toBe('duplicate');
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('follows ListCommands pages when looking for a duplicate', async () => {
    aws.ssm
      .on(ListCommandsCommand)
      .resolvesOnce({ Commands: [], NextToken: 'page-2' })
      .resolves({ Commands: [listedCommand()] });
    const { handler } = makeHandler();
    expect((await handler(lifecycleEvent())).result).toBe('duplicate');
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, { NextToken: 'page-2' });
  });

  it('sends nothing when the reconciler already adopted the instance', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({
          params: { drainId: `adopted-${INSTANCE}` },
          RequestedDateTime: new Date(EVENT_MS + 60_000),
        }),
      ],
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 120_000 });
    expect((await handler(lifecycleEvent())).result).toBe('already-adopted');
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it.each([
    [
      'moved on',
      [{ InstanceId: INSTANCE, AutoScalingGroupName: GROUP, LifecycleState: 'Terminating:Proceed' }],
    ],
    ['gone', []],
  ])(
    'does not drain an instance whose action is over (%s), for an event older than H/2',
    async (_, instances) => {
      aws.autoScaling
        .on(DescribeAutoScalingInstancesCommand)
        .resolves({ AutoScalingInstances: instances as never });
      const { handler } = makeHandler({ nowMs: LATE_MS });
      expect((await handler(lifecycleEvent())).result).toBe('action-over');
      expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
      expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    },
  );

  it('completes an instance leaving a stopped warm pool at once, with outcome skipped', async () => {
    aws.autoScaling
      .on(DescribeWarmPoolCommand)
      .resolves({ WarmPoolConfiguration: { PoolState: 'Stopped' }, Instances: [] });
    const { handler, metrics } = makeHandler();

    const result = await handler(lifecycleEvent({ Origin: 'WarmPool', Destination: 'EC2' }));

    expect(result.result).toBe('skipped');
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)).toEqual([
      {
        detailType: 'Fleet Drain Finished',
        detail: expect.objectContaining({
          outcome: 'skipped',
          lifecycleActionResult: 'CONTINUE',
          commandId: null,
        }),
      },
    ]);
    expect(metrics.total('DrainsFinished', 'skipped')).toBe(1);
  });

  it('drains an instance going back to the warm pool as usual', async () => {
    const { handler } = makeHandler();
    const result = await handler(lifecycleEvent({ Origin: 'AutoScalingGroup', Destination: 'WarmPool' }));
    expect(result.result).toBe('started');
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it.each([
    ['a group that is not configured', { AutoScalingGroupName: 'someone-elses-asg' }],
    ['a hook that is not configured', { LifecycleHookName: 'other-hook' }],
    ['a launch transition', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' }],
    ['a token that fails the drainId pattern', { LifecycleActionToken: 'x; rm -rf /' }],
    ['an instance id that fails its pattern', { EC2InstanceId: 'i-$(reboot)' }],
  ])('ignores %s without any AWS call', async (_, detail) => {
    const { handler } = makeHandler();
    const result = await handler(lifecycleEvent(detail));
    expect(result.kind).toBe('ignored');
    expect(awsCallCount(aws)).toBe(0);
  });

  it('completes an event that arrives after its deadline as expired, without sending', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + MAX_DRAIN_SECONDS * 1000 + 1 });
    expect((await handler(lifecycleEvent())).result).toBe('expired');
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]?.detail.outcome).toBe('expired');
  });

  it('heartbeats at once when the event itself was late (close to its first slot boundary)', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS - START_LEAD_MS + 1000 });
    await handler(lifecycleEvent());
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
    });
  });

  it('does not heartbeat a punctual event', async () => {
    const { handler } = makeHandler();
    await handler(lifecycleEvent());
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('still reports started when PutEvents fails (the drain runs either way)', async () => {
    aws.events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const { handler, log } = makeHandler();
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(
      log.entries.some((entry) => entry.level === 'error' && /Fleet Drain Started/.test(entry.message)),
    ).toBe(true);
  });

  it('fails the invocation (so Lambda retries) when SendCommand keeps failing otherwise', async () => {
    aws.ssm.on(SendCommandCommand).rejects(
      new SSMServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    const { handler } = makeHandler();
    await expect(handler(lifecycleEvent())).rejects.toThrow(/SendCommand failed: ThrottlingException/);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('looks nothing up for an event younger than H/2: the shared Auto Scaling budget is kept for heartbeats', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + (H_SECONDS * 1000) / 2 - 1000 });
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(aws.autoScaling).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });

  it('does not complete for a failed instance lookup; the invocation fails and is retried', async () => {
    aws.autoScaling.on(DescribeAutoScalingInstancesCommand).rejects(
      new AutoScalingServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    const { handler } = makeHandler({ nowMs: LATE_MS });
    await expect(handler(lifecycleEvent())).rejects.toThrow(/Throttling/);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe('start: SendCommand says InvalidInstanceId', () => {
  it('retries within the grace, then completes CONTINUE with outcome unreachable', async () => {
    aws.ssm.on(SendCommandCommand).rejects(unreachable());
    const { handler, clock, metrics } = makeHandler({
      env: { ...ENV, [ENV_UNREACHABLE_GRACE_SECONDS]: '30' },
    });

    const result = await handler(lifecycleEvent());

    expect(result.result).toBe('unreachable');
    expect(aws.ssm.commandCalls(SendCommandCommand).length).toBeGreaterThan(1);
    expect(clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(30_000);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)).toEqual([
      {
        detailType: 'Fleet Drain Finished',
        detail: expect.objectContaining({ outcome: 'unreachable', commandId: null }),
      },
    ]);
    expect(metrics.total('Unreachable')).toBe(1);
  });

  it('completes as unreachable even under ABANDON_ON_FAILURE (there is nothing running to keep)', async () => {
    aws.ssm.on(SendCommandCommand).rejects(unreachable());
    const { handler } = makeHandler({ env: { ...ENV, FLEET_DRAINER_RESULT_POLICY: 'ABANDON_ON_FAILURE' } });
    await handler(lifecycleEvent());
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: 'CONTINUE',
    });
  });

  it('starts the drain when the instance becomes reachable within the grace', async () => {
    aws.ssm
      .on(SendCommandCommand)
      .rejectsOnce(unreachable())
      .rejectsOnce(unreachable())
      .resolves({ Command: { CommandId: COMMAND_ID } });
    const { handler } = makeHandler();
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('with a grace of 0 tries once', async () => {
    aws.ssm.on(SendCommandCommand).rejects(unreachable());
    const { handler } = makeHandler({ env: { ...ENV, [ENV_UNREACHABLE_GRACE_SECONDS]: '0' } });
    expect((await handler(lifecycleEvent())).result).toBe('unreachable');
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });
});

describe('heartbeats are counted from the lifecycle event, not from the command', () => {
  it('beats a drain whose command was sent late at the first tick of the action’s second slot', async () => {
    // Outage prevented: the first heartbeat coming after the action had already timed out.
    serveWaitingInstance(aws, [
      listedCommand({ RequestedDateTime: new Date(EVENT_MS + SLOT_MS - START_LEAD_MS - 10_000) }),
    ]);
    await tickHandlerAt(FIRST_DUE_TICK_MS);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: TOKEN,
    });
  });

  it('a start sent close to the first slot boundary heartbeats at once', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS - START_LEAD_MS + 1000 });
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('a start sent well before the first slot boundary leaves the heartbeat to that boundary’s tick', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS / 2 + 1000 });
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('the first slot’s tick does not beat again a drain its start heartbeated; the next slot does', async () => {
    serveWaitingInstance(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS + SLOT_MS - 10_000) })]);
    await tickHandlerAt(FIRST_DUE_TICK_MS);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    aws.autoScaling.resetHistory();
    // Slots moved START_LEAD_MS earlier: the second slot begins at 2S − lead.
    await tickHandlerAt(EVENT_MS + Math.ceil((2 * SLOT_MS - START_LEAD_MS) / 60_000) * 60_000);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });
});

describe('one drain per host: any running fleet-drain command counts', () => {
  it('a start that finds another drain id running on the instance sends nothing', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({
          RequestedDateTime: new Date(EVENT_MS - 30_000),
          params: { drainId: `adopted-${INSTANCE}-202611220959` },
        }),
      ],
    });
    const { handler } = makeHandler();
    expect((await handler(lifecycleEvent())).result).toBe('already-draining');
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe('one-off heartbeats survive Lambda retries', () => {
  it('a retried start that finds its own command heartbeats when the event is late', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand()] });
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS });
    expect((await handler(lifecycleEvent())).result).toBe('duplicate');
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: TOKEN,
    });
  });
});
