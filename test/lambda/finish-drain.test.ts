// Finishing a drain: a terminal status of a fleet-drain command → GetCommandInvocation → outcome →
// CompleteLifecycleAction (completion first) → Fleet Drain Finished.

import {
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { ENV_RESULT_POLICY } from '../../lambda/config';
import { LOOKUP_TIMEOUT_MS } from '../../lambda/workflows/drain-actions';
import { FleetModel } from './fleet-model';
import {
  type AwsMocks,
  awsCallCount,
  COMMAND_ID,
  DOCUMENT,
  ENV,
  EVENT_MS,
  GROUP,
  HOOK,
  handlerOnClock,
  INSTANCE,
  lifecycleEvent,
  listedCommand,
  makeHandler,
  mockAws,
  recordingLog,
  recordingMetrics,
  reportJson,
  sentEvents,
  statusEvent,
  TOKEN,
} from './helpers';

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
  aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand({ Status: 'Success' })] });
});

const FINISH_MS = EVENT_MS + 181_000;

function invocation(fields: Record<string, unknown>) {
  aws.ssm.on(GetCommandInvocationCommand).resolves({
    CommandId: COMMAND_ID,
    InstanceId: INSTANCE,
    Status: 'Success',
    StatusDetails: 'Success',
    ResponseCode: 0,
    StandardOutputContent: '',
    StandardErrorContent: '',
    ...fields,
  });
}

const noActive = (message = `No active Lifecycle Action found with token ${TOKEN}`) =>
  new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });

describe('finish: terminal status of a drain command', () => {
  it('completes with CONTINUE by token and emits Fleet Drain Finished with the report', async () => {
    const { handler, metrics } = makeHandler({ nowMs: FINISH_MS });

    const result = await handler(statusEvent());

    expect(result).toEqual({ kind: 'command-status', result: 'completed' });
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, { CommandId: COMMAND_ID });
    expect(aws.ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, {
      CommandId: COMMAND_ID,
      InstanceId: INSTANCE,
    });
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    const [event] = sentEvents(aws);
    expect(event?.detailType).toBe('Fleet Drain Finished');
    expect(event?.detail).toMatchObject({
      instanceId: INSTANCE,
      autoScalingGroupName: GROUP,
      lifecycleHookName: HOOK,
      lifecycleActionToken: TOKEN,
      commandId: COMMAND_ID,
      outcome: 'drained',
      lifecycleActionResult: 'CONTINUE',
      durationMs: 180_000,
      report: expect.objectContaining({ version: 1, id: TOKEN, outcome: 'drained' }),
    });
    expect(metrics.total('DrainsFinished', 'drained')).toBe(1);
    expect(metrics.entries).toContainEqual({ name: 'DrainDuration', value: 180_000, outcome: 'drained' });
  });

  it('completes before it emits the event', async () => {
    const order: string[] = [];
    aws.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      order.push('complete');
      return {};
    });
    aws.events.on(PutEventsCommand).callsFake(() => {
      order.push('event');
      return { FailedEntryCount: 0, Entries: [{ EventId: '1' }] };
    });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    await handler(statusEvent());
    expect(order).toEqual(['complete', 'event']);
  });

  it('keeps the completion when PutEvents fails, and does not fail the invocation', async () => {
    aws.events.on(PutEventsCommand).rejects(new Error('socket hang up'));
    const { handler, log } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('completed');
    expect(aws.autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(
      log.entries.some((entry) => entry.level === 'error' && /Fleet Drain Finished/.test(entry.message)),
    ).toBe(true);
  });

  it.each([
    [
      'forced',
      {
        StandardOutputContent: reportJson({ outcome: 'forced', exitCode: 3 }),
        ResponseCode: 3,
        Status: 'Failed',
      },
    ],
    [
      'incomplete',
      {
        StandardOutputContent: reportJson({ outcome: 'incomplete', exitCode: 2 }),
        ResponseCode: 2,
        Status: 'Failed',
      },
    ],
    [
      'incomplete',
      {
        StandardOutputContent: reportJson({ outcome: 'interrupted', exitCode: 4 }),
        ResponseCode: 4,
        Status: 'Failed',
      },
    ],
    ['drained', { StandardOutputContent: reportJson({ outcome: 'nothing' }), ResponseCode: 0 }],
    [
      'failed',
      {
        StandardOutputContent: reportJson({ outcome: 'error', exitCode: 70 }),
        ResponseCode: 70,
        Status: 'Failed',
      },
    ],
    // The document's own message when node is missing; exit 78, no JSON.
    [
      'failed',
      {
        StandardOutputContent: 'fleet-drain: node not found on this host\n',
        ResponseCode: 78,
        Status: 'Failed',
      },
    ],
    // Truncated at 24,000 characters: the exit code decides.
    [
      'forced',
      {
        StandardOutputContent: reportJson({ outcome: 'forced' }).slice(0, 60),
        ResponseCode: 3,
        Status: 'Failed',
      },
    ],
    // Success says the host ended clear, not how: without a summary line or report it is not known to have drained.
    ['failed', { StandardOutputContent: '', ResponseCode: 0 }],
    [
      'forced',
      {
        StandardOutputContent: `fleet-drain v1 outcome=forced exit=3 id=${TOKEN} joined=0\n${reportJson({ outcome: 'forced', exitCode: 3 })}\n`,
        ResponseCode: 0,
      },
    ],
    ['unreachable', { Status: 'TimedOut', StatusDetails: 'Delivery Timed Out', ResponseCode: -1 }],
    ['unreachable', { Status: 'Failed', StatusDetails: 'Undeliverable', ResponseCode: -1 }],
    ['incomplete', { Status: 'TimedOut', StatusDetails: 'Execution Timed Out', ResponseCode: -1 }],
    ['incomplete', { Status: 'Cancelled', StatusDetails: 'Cancelled', ResponseCode: -1 }],
    ['failed', { Status: 'Failed', StatusDetails: 'Terminated', ResponseCode: -1 }],
    ['failed', { Status: 'Failed', StatusDetails: 'Access Denied', ResponseCode: -1 }],
    ['failed', { Status: 'Failed', StatusDetails: 'Invalid Platform', ResponseCode: -1 }],
    ['failed', { Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1 }],
  ] as [string, Record<string, unknown>][])('maps to outcome %s (%o)', async (outcome, fields) => {
    invocation(fields);
    const { handler, metrics } = makeHandler({ nowMs: FINISH_MS });
    await handler(
      statusEvent({ status: String(fields.Status ?? 'Success') === 'Cancelled' ? 'Cancelled' : 'Failed' }),
    );
    expect(sentEvents(aws)[0]?.detail.outcome).toBe(outcome);
    expect(metrics.total('DrainsFinished', outcome)).toBe(1);
  });

  it('puts an output excerpt in the event when there is no report', async () => {
    invocation({ StandardOutputContent: 'fleet-drain: node not found', ResponseCode: 78, Status: 'Failed' });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    await handler(statusEvent({ status: 'Failed' }));
    expect(sentEvents(aws)[0]?.detail).toMatchObject({
      report: null,
      exitCode: 78,
      output: 'fleet-drain: node not found',
    });
  });

  it('distrusts a report of another drain id and falls back to the exit code', async () => {
    invocation({
      StandardOutputContent: reportJson({ id: 'someone-else', outcome: 'drained' }),
      ResponseCode: 2,
      Status: 'Failed',
    });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    await handler(statusEvent({ status: 'Failed' }));
    expect(sentEvents(aws)[0]?.detail.outcome).toBe('incomplete');
  });

  it.each([
    ['incomplete', 'ABANDON'],
    ['failed', 'ABANDON'],
    ['drained', 'CONTINUE'],
    ['forced', 'CONTINUE'],
  ])('under ABANDON_ON_FAILURE completes outcome %s with %s', async (outcome, result) => {
    const exitCode = { incomplete: 2, failed: 70, drained: 0, forced: 3 }[outcome] as number;
    invocation({
      ResponseCode: exitCode,
      StandardOutputContent: exitCode === 0 ? reportJson() : '',
      Status: exitCode === 0 ? 'Success' : 'Failed',
    });
    const { handler } = makeHandler({
      nowMs: FINISH_MS,
      env: { ...ENV, [ENV_RESULT_POLICY]: 'ABANDON_ON_FAILURE' },
    });
    await handler(statusEvent());
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: result,
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome, lifecycleActionResult: result });
  });

  it('completes incomplete drains with CONTINUE by default', async () => {
    invocation({ ResponseCode: 2, Status: 'Failed' });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    await handler(statusEvent({ status: 'Failed' }));
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: 'CONTINUE',
    });
  });

  it('completes an adopted drain by instance id and reports a null token', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [listedCommand({ Status: 'Success', params: { drainId: `adopted-${INSTANCE}` } })],
    });
    invocation({ StandardOutputContent: reportJson({ id: `adopted-${INSTANCE}` }) });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    await handler(statusEvent());
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      InstanceId: INSTANCE,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(
      aws.autoScaling.commandCalls(CompleteLifecycleActionCommand)[0]?.args[0].input.LifecycleActionToken,
    ).toBeUndefined();
    expect(sentEvents(aws)[0]?.detail).toMatchObject({
      lifecycleActionToken: null,
      adopted: true,
      outcome: 'drained',
    });
  });
});

describe('finish: what is ignored', () => {
  it.each([
    ['another document', { 'document-name': 'AWS-RunShellScript' }],
    ['a non-terminal status', { status: 'InProgress' }],
    ['a Delayed status', { status: 'Delayed' }],
    ['an invalid command id', { 'command-id': '../../etc' }],
    ['an invalid instance id', { 'instance-id': 'not-an-instance' }],
  ])('ignores %s without any AWS call', async (_, detail) => {
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent(detail))).kind).toBe('ignored');
    expect(awsCallCount(aws)).toBe(0);
  });

  it('does not complete for a command of a group that is not configured', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [listedCommand({ Status: 'Success', params: { autoScalingGroupName: 'someone-elses' } })],
    });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('not-ours');
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('does not complete for a status event naming another instance than the command was sent to', async () => {
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent({ 'instance-id': 'i-0ddddddddddddddd4' }))).result).toBe('not-ours');
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('does not complete when the invocation is, after all, still running', async () => {
    invocation({ Status: 'InProgress', ResponseCode: -1 });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('not-terminal');
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });
});

describe('finish: eventual consistency and errors', () => {
  const notYet = () => new InvocationDoesNotExist({ $metadata: {}, message: 'InvocationDoesNotExist' });

  it('retries InvocationDoesNotExist briefly, then completes', async () => {
    aws.ssm.on(GetCommandInvocationCommand).rejectsOnce(notYet()).rejectsOnce(notYet()).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportJson(),
    });
    const { handler, clock } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('completed');
    expect(aws.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('gives up after a bounded time and leaves the drain to the reconciler', async () => {
    aws.ssm.on(GetCommandInvocationCommand).rejects(notYet());
    const { handler, clock } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('not-found');
    expect(clock.nowMs - FINISH_MS).toBeLessThanOrEqual(LOOKUP_TIMEOUT_MS + 5000);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('looks a command up by id without filters, and ignores one of another document', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [listedCommand({ Status: 'Success', DocumentName: 'AWS-RunShellScript' })],
    });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('not-found');
    expect(aws.ssm.commandCalls(ListCommandsCommand)[0]?.args[0].input.Filters).toBeUndefined();
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('waits for ListCommands to show a command it does not know yet', async () => {
    aws.ssm
      .on(ListCommandsCommand)
      .resolvesOnce({ Commands: [] })
      .resolves({ Commands: [listedCommand({ Status: 'Success' })] });
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('completed');
  });

  it('treats "No active Lifecycle Action" as done: no event, no retry for an old action', async () => {
    aws.autoScaling.on(CompleteLifecycleActionCommand).rejects(noActive());
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('gone');
    expect(aws.autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(aws.events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('retries "No active Lifecycle Action" of a young action while the instance is still in Terminating:Wait', async () => {
    aws.autoScaling.on(CompleteLifecycleActionCommand).rejectsOnce(noActive()).resolves({});
    const { handler } = makeHandler({ nowMs: EVENT_MS + 5000 });
    expect((await handler(statusEvent())).result).toBe('completed');
    expect(aws.autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 2);
    expect(aws.autoScaling).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
  });

  it('stops retrying a young action once the instance has left Terminating:Wait', async () => {
    aws.autoScaling.on(CompleteLifecycleActionCommand).rejects(noActive());
    aws.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [
        { InstanceId: INSTANCE, AutoScalingGroupName: GROUP, LifecycleState: 'Terminating:Proceed' } as never,
      ],
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 5000 });
    expect((await handler(statusEvent())).result).toBe('gone');
    expect(aws.autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('bounds the retries of a young action that never shows up', async () => {
    aws.autoScaling.on(CompleteLifecycleActionCommand).rejects(noActive());
    const { handler } = makeHandler({ nowMs: EVENT_MS + 5000 });
    expect((await handler(statusEvent())).result).toBe('gone');
    expect(aws.autoScaling.commandCalls(CompleteLifecycleActionCommand).length).toBeLessThanOrEqual(4);
  });

  it('logs any other ValidationError loudly as a configuration error and does not retry', async () => {
    aws.autoScaling.on(CompleteLifecycleActionCommand).rejects(
      new AutoScalingServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'No lifecycle hook found with name my-hook for group my-asg',
      }),
    );
    const { handler, log, metrics } = makeHandler({ nowMs: FINISH_MS });
    expect((await handler(statusEvent())).result).toBe('config-error');
    expect(log.entries).toContainEqual(
      expect.objectContaining({ level: 'error', message: expect.stringMatching(/CONFIGURATION ERROR/) }),
    );
    expect(metrics.total('ConfigErrors')).toBe(1);
    expect(aws.events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('fails the invocation on a throttled GetCommandInvocation that outlasted the SDK retries', async () => {
    aws.ssm.on(GetCommandInvocationCommand).rejects(
      new SSMServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    const { handler } = makeHandler({ nowMs: FINISH_MS });
    await expect(handler(statusEvent())).rejects.toThrow(/ThrottlingException/);
  });

  it('reads the status of an ARN-configured document by its name', async () => {
    const { handler } = makeHandler({
      nowMs: FINISH_MS,
      env: { ...ENV, FLEET_DRAINER_DOCUMENT_NAME: `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}` },
    });
    expect((await handler(statusEvent())).result).toBe('completed');
  });
});

describe('the status event of one command does not finish a drain whose sibling still runs', () => {
  it('returns not-terminal when the ended command shows no end of the drain and a duplicate still runs', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({ Status: 'Cancelled' }),
        listedCommand({ CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c', Status: 'InProgress' }),
      ],
    });
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Cancelled',
      StatusDetails: 'Cancelled',
      ResponseCode: 143,
      StandardOutputContent: '',
      StandardErrorContent: 'terminated\n',
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 181_000 });
    expect((await handler(statusEvent({ status: 'Cancelled' }))).result).toBe('not-terminal');
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('completes at once when the ended command carries the report of the drain (a joined one ends with it)', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({ Status: 'Success' }),
        listedCommand({ CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c', Status: 'InProgress' }),
      ],
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 181_000 });
    expect((await handler(statusEvent())).result).toBe('completed');
  });
});

describe('two commands of one drain in the fleet model (ListCommands lagging a duplicate event)', () => {
  it('completes once, on the first status event that carries the report of the drain', async () => {
    const model = new FleetModel(EVENT_MS);
    model.listLagMs = 10_000;
    model.instances.set(INSTANCE, { id: INSTANCE, group: GROUP, state: 'InService', reachable: true });
    const mocks = model.serve();
    const handler = handlerOnClock(model);
    try {
      const event = model.scaleIn(INSTANCE)?.event;
      model.pending.length = 0;
      await handler(event);
      model.nowMs += 2000;
      await handler(event); // the duplicate does not see the first command yet
      expect(model.commands).toHaveLength(2);
      model.nowMs += 60_000;
      // The agent ran one drain for both; SSM reports the two commands apart.
      model.finishOne(model.commands[0] as never);
      await handler(model.pending.shift()?.event);
      const action = model.actions[0];
      expect(action?.completions).toBe(1);
      model.finishOne(model.commands[1] as never);
      await handler(model.pending.shift()?.event);
      expect(action?.completions).toBe(1);
      expect(model.finishedEvents).toHaveLength(1);
    } finally {
      mocks.autoScaling.restore();
      mocks.ssm.restore();
      mocks.events.restore();
    }
  });
});

describe('a completion whose first response was lost', () => {
  it('is reported, flagged, when the SDK’s retry finds the action over', async () => {
    const { completeDrain } = await import('../../lambda/workflows/drain-actions');
    const { parseConfig } = await import('../../lambda/config');
    const { NoActiveLifecycleActionError } = await import('../../lambda/aws/errors');
    const parsed = parseConfig(ENV);
    if (!parsed.ok) throw new Error('invalid test configuration');
    const lost = new NoActiveLifecycleActionError('No active Lifecycle Action found with token x');
    lost.afterRetry = true;
    const events: Record<string, unknown>[] = [];
    const clock = { nowMs: EVENT_MS };
    const result = await completeDrain(
      {
        autoScaling: {
          completeLifecycleAction: async () => {
            throw lost;
          },
          recordHeartbeat: async () => {},
          describeGroupInstances: async () => [],
          describeWarmPoolInstances: async () => [],
          warmPoolState: async () => undefined,
          describeInstances: async () => [],
        },
        ssm: {} as never,
        queues: { waitingMessages: async () => undefined, retryAfter: async () => {} },
        events: { putEvent: async (_type, detail) => void events.push(detail) },
        log: recordingLog(),
        metrics: recordingMetrics(),
        now: () => clock.nowMs,
        sleep: async () => {},
      },
      parsed.config,
      {
        action: { groupName: GROUP, hookName: HOOK, instanceId: INSTANCE, token: TOKEN },
        drainId: TOKEN,
        commandId: COMMAND_ID,
        outcome: 'drained',
        reason: 'test',
        startedMs: EVENT_MS,
        young: false,
      },
    );
    expect(result).toBe('completed');
    expect(events[0]).toMatchObject({ outcome: 'drained', completionUncertain: true });
  });
});

describe('an ARN-configured document', () => {
  it('is never filtered by its raw ARN, and its status events are recognised', async () => {
    const { handler } = makeHandler({
      env: { ...ENV, FLEET_DRAINER_DOCUMENT_NAME: `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}` },
    });
    await handler(lifecycleEvent());
    for (const call of aws.ssm.commandCalls(ListCommandsCommand)) {
      expect(JSON.stringify(call.args[0].input.Filters ?? [])).not.toMatch(/arn:/);
    }
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand({ Status: 'Success' })] });
    const arnEvent = statusEvent({
      'document-name': `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}`,
    });
    const status = await makeHandler({
      nowMs: EVENT_MS + 181_000,
      env: { ...ENV, FLEET_DRAINER_DOCUMENT_NAME: `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}` },
    }).handler(arnEvent);
    expect(status.result).toBe('completed');
  });
});

describe('GetCommandInvocation lagging a terminal status event', () => {
  it('is asked again (bounded) and then completes', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand({ Status: 'Success' })] });
    aws.ssm
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ Status: 'InProgress', ResponseCode: -1 })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: reportJson() });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 181_000 });
    expect((await handler(statusEvent())).result).toBe('completed');
  });
});
