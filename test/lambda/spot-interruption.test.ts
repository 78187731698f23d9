// EC2 notices: a Spot interruption warning drains the instance at once, with a deadline 20 s before the
// interruption; a rebalance recommendation is ignored, prepares or drains as configured. Such drains own
// no lifecycle action: nothing heartbeats, expires, cancels or completes them, and a lifecycle action that
// comes meanwhile still gets its own command.

import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CancelCommandCommand,
  type Command,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { DRAIN_OUTCOMES } from '../../agent/report/summary-line';
import type { InstanceState } from '../../lambda/aws/ports';
import { ENV_REBALANCE_ACTION, parseConfig } from '../../lambda/config';
import { classifyEvent } from '../../lambda/decide/classify-event';
import {
  commandComment,
  type DrainCommand,
  noticeDrainId,
  triggerOfDrainId,
} from '../../lambda/decide/drain-command';
import { planTick } from '../../lambda/decide/plan-tick';
import {
  type AwsMocks,
  awsCallCount,
  COMMAND_ID,
  drainParameters,
  ENV,
  EVENT_MS,
  EVENT_TIME,
  FIRST_DUE_TICK_MS,
  GROUP,
  HOOK,
  INSTANCE,
  lifecycleEvent,
  listedCommand,
  MAX_DRAIN_SECONDS,
  makeHandler,
  mockAws,
  reportJson,
  sentEvents,
  serveCommands,
  statusEvent,
  TOKEN,
  tickEvent,
} from './helpers';

expect.extend(allCustomMatcher);

const SPOT_ID = `spot-${INSTANCE}-20261122100000`;
const REBALANCE_ID = `rebalance-${INSTANCE}-20261122100000`;
/** Event time + 120 s − 20 s. */
const SPOT_DEADLINE = '2026-11-22T10:01:40Z';

/** The documented `EC2 Spot Instance Interruption Warning` (spot-instance-termination-notices.html). */
function spotWarning(detail: Record<string, unknown> = {}, time = EVENT_TIME): Record<string, unknown> {
  return {
    version: '0',
    id: '32345678-1234-1234-1234-123456789012',
    'detail-type': 'EC2 Spot Instance Interruption Warning',
    source: 'aws.ec2',
    account: '123456789012',
    time,
    region: 'us-west-2',
    resources: [`arn:aws:ec2:us-west-2:123456789012:instance/${INSTANCE}`],
    detail: { 'instance-id': INSTANCE, 'instance-action': 'terminate', ...detail },
  };
}

/** The documented `EC2 Instance Rebalance Recommendation` (rebalance-recommendations.html). */
function rebalanceRecommendation(): Record<string, unknown> {
  return {
    ...spotWarning(),
    id: '22345678-1234-1234-1234-123456789012',
    'detail-type': 'EC2 Instance Rebalance Recommendation',
    detail: { 'instance-id': INSTANCE },
  };
}

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
  inGroup(GROUP, 'InService');
});

/** DescribeAutoScalingInstances answers the sample instance in `group` (none: in no group). */
function inGroup(group: string | undefined, lifecycleState = 'InService'): void {
  aws.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances:
      group === undefined
        ? []
        : [
            {
              InstanceId: INSTANCE,
              AutoScalingGroupName: group,
              LifecycleState: lifecycleState,
              AvailabilityZone: 'us-west-2a',
              HealthStatus: 'Healthy',
              ProtectedFromScaleIn: false,
            },
          ],
  });
}

/** SSM's history follows what was sent: each SendCommand is listed afterwards. */
function historyFollowsSends(): Command[] {
  const sent: Command[] = [];
  serveCommands(aws, () => sent);
  aws.ssm.on(SendCommandCommand).callsFake(async (input) => {
    const commandId = `00000000-0000-4000-8000-00000000000${sent.length}`;
    sent.push({
      CommandId: commandId,
      DocumentName: input.DocumentName,
      Parameters: input.Parameters,
      InstanceIds: input.InstanceIds,
      RequestedDateTime: new Date(EVENT_MS + 1000),
      Status: 'InProgress',
    });
    return { Command: { CommandId: commandId } };
  });
  return sent;
}

describe('a Spot interruption warning', () => {
  it('sends one drain command at once: action drain, the spot id, deadline 20 s before the interruption', async () => {
    const { handler, metrics } = makeHandler();

    const result = await handler(spotWarning());

    expect(result).toEqual({ kind: 'instance-notice', result: 'started' });
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(aws.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      InstanceIds: [INSTANCE],
      Parameters: drainParameters({ drainId: SPOT_ID, deadline: SPOT_DEADLINE, action: 'drain' }),
      Comment: commandComment({ drainId: SPOT_ID, autoScalingGroupName: GROUP }),
    });
    expect(aws.autoScaling).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(sentEvents(aws)).toEqual([
      {
        detailType: 'Fleet Drain Started',
        detail: {
          instanceId: INSTANCE,
          autoScalingGroupName: GROUP,
          lifecycleHookName: HOOK,
          lifecycleActionToken: null,
          drainId: SPOT_ID,
          commandId: COMMAND_ID,
          deadline: SPOT_DEADLINE,
          adopted: false,
          trigger: 'spot-interruption',
        },
      },
    ]);
    expect(metrics.entries).toContainEqual({
      name: 'DrainsStarted',
      value: 1,
      outcome: undefined,
      trigger: 'spot-interruption',
    });
  });

  it.each(['stop', 'hibernate'])('drains for instance-action %s too', async (instanceAction) => {
    const { handler } = makeHandler();

    const result = await handler(spotWarning({ 'instance-action': instanceAction }));

    expect(result).toEqual({ kind: 'instance-notice', result: 'started' });
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it('ignores an unknown instance-action, with a log line and no AWS call', async () => {
    const { handler, log } = makeHandler();

    const result = await handler(spotWarning({ 'instance-action': 'reboot' }));

    expect(result).toEqual({ kind: 'ignored', result: 'unknown instance-action "reboot"' });
    expect(awsCallCount(aws)).toBe(0);
    expect(log.entries.some((entry) => entry.message === 'event ignored')).toBe(true);
  });

  it('ignores an invalid instance-id without an AWS call', async () => {
    const { handler } = makeHandler();

    const result = await handler(spotWarning({ 'instance-id': 'i-NOPE; rm -rf /' }));

    expect(result).toEqual({ kind: 'ignored', result: 'invalid instance-id' });
    expect(awsCallCount(aws)).toBe(0);
  });

  it.each([
    ['another group', 'foreign-asg'],
    ['no group', undefined],
  ])('for an instance of %s: one debug line, no command, no other AWS call', async (_, group) => {
    inGroup(group);
    const { handler, log } = makeHandler();

    const result = await handler(spotWarning());

    expect(result).toEqual({ kind: 'instance-notice', result: 'not-ours' });
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(awsCallCount(aws)).toBe(1);
    expect(log.entries.filter((entry) => entry.level !== 'debug')).toEqual([]);
  });

  it('delivered twice, sends one command (the second finds it listed)', async () => {
    const sent = historyFollowsSends();
    const { handler } = makeHandler();

    const first = await handler(spotWarning());
    const second = await handler(spotWarning());

    expect([first, second]).toEqual([
      { kind: 'instance-notice', result: 'started' },
      { kind: 'instance-notice', result: 'duplicate' },
    ]);
    expect(sent).toHaveLength(1);
    expect(sentEvents(aws)).toHaveLength(1);
  });

  it('that arrives after its drain deadline sends nothing', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + 100_000 });

    const result = await handler(spotWarning());

    expect(result).toEqual({ kind: 'instance-notice', result: 'too-late' });
    expect(awsCallCount(aws)).toBe(0);
  });
});

describe('a rebalance recommendation', () => {
  it('is ignored by default: a debug line, no AWS call', async () => {
    const { handler, log } = makeHandler();

    const result = await handler(rebalanceRecommendation());

    expect(result).toEqual({ kind: 'instance-notice', result: 'ignored' });
    expect(awsCallCount(aws)).toBe(0);
    expect(log.entries.map((entry) => entry.level)).toEqual(['debug']);
  });

  it.each([
    ['prepare', 'prepare'],
    ['drain', 'drain'],
  ])('under %s sends action %s with the rebalance id and the normal deadline', async (setting, action) => {
    const { handler } = makeHandler({ env: { ...ENV, [ENV_REBALANCE_ACTION]: setting } });

    const result = await handler(rebalanceRecommendation());

    expect(result).toEqual({ kind: 'instance-notice', result: 'started' });
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(aws.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      Parameters: drainParameters({ drainId: REBALANCE_ID, action }),
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({
      trigger: 'rebalance-recommendation',
      deadline: new Date(EVENT_MS + MAX_DRAIN_SECONDS * 1000).toISOString().replace('.000Z', 'Z'),
    });
  });

  it('refuses an unknown setting as a configuration error', () => {
    const parsed = parseConfig({ ...ENV, [ENV_REBALANCE_ACTION]: 'panic' });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.join('\n')).toMatch(/FLEET_DRAINER_REBALANCE_ACTION must be/);
  });
});

describe('drain ids and triggers', () => {
  it('reads the trigger from any drain id', () => {
    expect(triggerOfDrainId(TOKEN)).toBe('lifecycle');
    expect(triggerOfDrainId(`adopted-${INSTANCE}-202611221000`)).toBe('lifecycle');
    expect(triggerOfDrainId(SPOT_ID)).toBe('spot-interruption');
    expect(triggerOfDrainId(REBALANCE_ID)).toBe('rebalance-recommendation');
  });

  it('gives the same id to an event delivered twice, within the drainId pattern for the longest instance id', () => {
    const longest = 'i-0123456789abcdef0';
    const id = noticeDrainId('rebalance-recommendation', longest, EVENT_MS + 999);
    expect(id).toBe(noticeDrainId('rebalance-recommendation', longest, EVENT_MS));
    expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/);
    expect(noticeDrainId('spot-interruption', INSTANCE, EVENT_MS)).toBe(SPOT_ID);
  });

  it('classifies the two EC2 notices, with the event time', () => {
    const parsed = parseConfig(ENV);
    if (!parsed.ok) throw new Error('test configuration is invalid');
    expect(classifyEvent(spotWarning(), parsed.config)).toEqual({
      kind: 'instance-notice',
      trigger: 'spot-interruption',
      instanceId: INSTANCE,
      eventTimeMs: EVENT_MS,
      instanceAction: 'terminate',
    });
    expect(classifyEvent(rebalanceRecommendation(), parsed.config)).toMatchObject({
      kind: 'instance-notice',
      trigger: 'rebalance-recommendation',
    });
    expect(classifyEvent({ ...spotWarning(), source: 'aws.autoscaling' }, parsed.config)).toMatchObject({
      kind: 'ignored',
    });
  });
});

describe('finishing a Spot or rebalance drain', () => {
  function invocationOf(drainId: string, stdout: string) {
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      CommandId: COMMAND_ID,
      InstanceId: INSTANCE,
      Comment: commandComment({ drainId, autoScalingGroupName: GROUP }),
      DocumentName: 'FleetDrain-Doc',
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: stdout,
      StandardErrorContent: '',
      ExecutionEndDateTime: new Date(EVENT_MS + 90_000).toISOString(),
    });
  }

  it('emits Fleet Drain Finished with its trigger and completes no lifecycle action', async () => {
    invocationOf(SPOT_ID, `${reportJson({ id: SPOT_ID })}\n`);
    const { handler, metrics } = makeHandler({ nowMs: EVENT_MS + 95_000 });

    const result = await handler(statusEvent());

    expect(result).toEqual({ kind: 'command-status', result: 'reported' });
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(sentEvents(aws)).toEqual([
      {
        detailType: 'Fleet Drain Finished',
        detail: expect.objectContaining({
          drainId: SPOT_ID,
          lifecycleActionToken: null,
          outcome: 'drained',
          lifecycleActionResult: null,
          adopted: false,
          trigger: 'spot-interruption',
        }),
      },
    ]);
    expect(metrics.entries).toContainEqual({
      name: 'DrainsFinished',
      value: 1,
      outcome: 'drained',
      trigger: 'spot-interruption',
    });
  });

  it.skipIf(!DRAIN_OUTCOMES.has('prepared'))(
    'maps a prepare drain’s report `prepared` to the outcome prepared, completing nothing',
    async () => {
      invocationOf(REBALANCE_ID, `${reportJson({ id: REBALANCE_ID, outcome: 'prepared' })}\n`);
      const { handler } = makeHandler({ nowMs: EVENT_MS + 95_000 });

      const result = await handler(statusEvent());

      expect(result).toEqual({ kind: 'command-status', result: 'reported' });
      expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
      expect(sentEvents(aws)[0]?.detail).toMatchObject({
        outcome: 'prepared',
        lifecycleActionResult: null,
        trigger: 'rebalance-recommendation',
      });
    },
  );
});

describe('the tick and a running Spot drain', () => {
  const spotCommand = (status: Command['Status'] = 'InProgress') =>
    listedCommand({
      CommandId: '11111111-1111-4111-8111-111111111111',
      Status: status,
      params: { drainId: SPOT_ID, deadline: SPOT_DEADLINE },
    });

  function serveGroup(lifecycleState: string | undefined, commands: Command[]): void {
    serveCommands(aws, commands);
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: GROUP,
          Instances:
            lifecycleState === undefined ? [] : [{ InstanceId: INSTANCE, LifecycleState: lifecycleState }],
        },
      ] as never,
    });
  }

  it.each([
    ['in service', 'InService'],
    ['gone', undefined],
  ])(
    'leaves it alone, its instance %s, even long past its deadline: no heartbeat, cancel or completion',
    async (_, lifecycleState) => {
      serveGroup(lifecycleState, [spotCommand()]);
      const { handler } = makeHandler({ nowMs: EVENT_MS + 3_600_000 });

      await handler(tickEvent(new Date(EVENT_MS + 3_600_000).toISOString()));

      expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
      expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
      expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
      expect(sentEvents(aws)).toEqual([]);
    },
  );

  it('heartbeats the lifecycle drain of the same instance as usual', async () => {
    serveGroup('Terminating:Wait', [spotCommand(), listedCommand()]);
    const { handler } = makeHandler({ nowMs: FIRST_DUE_TICK_MS });

    await handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()));

    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
    });
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('does not count as the drain of a waiting instance: the instance stays an adoption candidate', () => {
    const parsed = parseConfig(ENV);
    if (!parsed.ok) throw new Error('test configuration is invalid');
    const spot: DrainCommand = {
      commandId: 'c-spot',
      requestedMs: EVENT_MS,
      status: 'InProgress',
      params: {
        drainId: SPOT_ID,
        deadline: SPOT_DEADLINE,
        instanceId: INSTANCE,
        autoScalingGroupName: GROUP,
        lifecycleHookName: HOOK,
      },
    };
    const waiting: InstanceState = {
      instanceId: INSTANCE,
      groupName: GROUP,
      lifecycleState: 'Terminating:Wait',
    };
    const plan = planTick({
      commands: [spot, { ...spot, commandId: 'c-spot-done', status: 'Success' }],
      instances: [waiting],
      nowMs: FIRST_DUE_TICK_MS,
      tickMs: FIRST_DUE_TICK_MS,
      config: parsed.config,
    });
    expect(plan).toMatchObject({ heartbeat: [], finish: [], finishDue: [], expire: [], cancel: [] });
    expect(plan.adopt).toEqual([waiting]);
  });
});

describe('a lifecycle action during a Spot drain', () => {
  it('still sends its own command (the agent joins the running drain), even when it may be a duplicate', async () => {
    inGroup(GROUP, 'Terminating:Wait');
    serveCommands(aws, [
      listedCommand({
        CommandId: '11111111-1111-4111-8111-111111111111',
        params: { drainId: SPOT_ID, deadline: SPOT_DEADLINE },
      }),
    ]);
    const { handler } = makeHandler({ nowMs: EVENT_MS + 30_000 });

    // A direct invocation may be a duplicate: the start lists the instance's commands first.
    const result = await handler(lifecycleEvent());

    expect(result).toEqual({ kind: 'lifecycle', result: 'started' });
    expect(aws.ssm).toHaveReceivedCommandExactlyOnceWith(SendCommandCommand, {
      Parameters: drainParameters(),
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ trigger: 'lifecycle', lifecycleActionToken: TOKEN });
  });
});

describe('EC2 notices through the lifecycle queue', () => {
  /** One SQS record of the lifecycle queue carrying `event`. */
  function record(event: unknown, index: number, receiveCount = 1) {
    return {
      messageId: `m-${index}`,
      receiptHandle: '',
      body: JSON.stringify(event),
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: String(EVENT_MS + 500),
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: String(EVENT_MS + 600),
      },
      messageAttributes: {},
      md5OfBody: 'x',
      eventSource: 'aws:sqs' as const,
      eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:lifecycle',
      awsRegion: 'us-west-2',
    };
  }

  it('a prompt first delivery sends without listing; a redelivery finds its command and sends nothing', async () => {
    const sent = historyFollowsSends();
    const { handler } = makeHandler();

    const first = await handler({ Records: [record(spotWarning(), 0)] });
    const listingsAfterFirst = aws.ssm.commandCalls(ListCommandsCommand).length;
    const again = await handler({ Records: [record(spotWarning(), 0, 2)] });

    expect([first, again]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(listingsAfterFirst).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it('a batch with a Spot warning and a lifecycle event for the same instance sends both commands', async () => {
    inGroup(GROUP, 'Terminating:Wait');
    const sent = historyFollowsSends();
    const { handler } = makeHandler();

    const result = await handler({ Records: [record(spotWarning(), 0), record(lifecycleEvent(), 1)] });

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sent.map((command) => command.Parameters?.drainId?.[0]).sort()).toEqual([SPOT_ID, TOKEN].sort());
  });
});
