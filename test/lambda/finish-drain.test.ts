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
import {
  type AwsMocks,
  awsCallCount,
  COMMAND_ID,
  DOCUMENT,
  ENV,
  EVENT_MS,
  GROUP,
  HOOK,
  INSTANCE,
  listedCommand,
  makeHandler,
  mockAws,
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
