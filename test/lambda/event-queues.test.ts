// Events through SQS (the construct's event queues): batches with partial failures, starts that list
// commands only when the event may be a duplicate, finishes from GetCommandInvocation alone, and a
// reconciler that never mistakes a queued event for a lost one.

import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  type Instance,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommandInvocationCommand, ListCommandsCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueuesPort } from '../../lambda/aws/sqs';
import { ENV_LIFECYCLE_QUEUE_URL, ENV_STATUS_QUEUE_URL } from '../../lambda/config';
import { RECORD_RESERVE_MS } from '../../lambda/create-handler';
import { commandComment, readCommandComment } from '../../lambda/decide/drain-command';
import { retryDelaySeconds } from '../../lambda/sqs-batch';
import { LOST_STATUS_EVENT_MS } from '../../lambda/workflows/reconcile';
import {
  type AwsMocks,
  COMMAND_ID,
  ENV,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  groupWith,
  INSTANCE,
  lifecycleEvent,
  listedCommand,
  makeHandler,
  mockAws,
  reportJson,
  serveCommands,
  statusEvent,
  TOKEN,
  tickEvent,
} from './helpers';

expect.extend(allCustomMatcher);

const LIFECYCLE_QUEUE = 'https://sqs.us-west-2.amazonaws.com/123456789012/lifecycle';
const STATUS_QUEUE = 'https://sqs.us-west-2.amazonaws.com/123456789012/status';
const QUEUED_ENV = {
  ...ENV,
  [ENV_LIFECYCLE_QUEUE_URL]: LIFECYCLE_QUEUE,
  [ENV_STATUS_QUEUE_URL]: STATUS_QUEUE,
};

let aws: AwsMocks;
const mockSqs = () => mockClient(SQSClient);
let sqs: ReturnType<typeof mockSqs>;
beforeEach(() => {
  aws = mockAws();
  sqs = mockSqs();
  sqs.on(GetQueueAttributesCommand).resolves(depth(0));
});
afterEach(() => sqs.restore());

/** An SQS batch as the event source mapping sends it. */
function batch(records: { event: unknown; receiveCount?: number; sentMs?: number; messageId?: string }[]) {
  return {
    Records: records.map((record, index) => ({
      messageId: record.messageId ?? `m-${index}`,
      receiptHandle: `r-${index}`,
      body: typeof record.event === 'string' ? record.event : JSON.stringify(record.event),
      attributes: {
        ApproximateReceiveCount: String(record.receiveCount ?? 1),
        SentTimestamp: String(record.sentMs ?? EVENT_MS + 500),
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: String(EVENT_MS + 600),
      },
      messageAttributes: {},
      md5OfBody: 'x',
      eventSource: 'aws:sqs' as const,
      eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:lifecycle',
      awsRegion: 'us-west-2',
    })),
  };
}

/** GetCommandInvocation of the drain's command, ended with the agent's `drained` report. */
const drainedInvocation = () => ({
  CommandId: COMMAND_ID,
  InstanceId: INSTANCE,
  Comment: commandComment({ drainId: TOKEN, autoScalingGroupName: GROUP }),
  DocumentName: 'FleetDrain-Doc',
  Status: 'Success' as const,
  ResponseCode: 0,
  StandardOutputContent: `${reportJson()}\n`,
});

/** GetQueueAttributes' answer for the three counts the depth adds up. */
function depth(visible: number, notVisible = 0, delayed = 0) {
  return {
    Attributes: {
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(notVisible),
      ApproximateNumberOfMessagesDelayed: String(delayed),
    },
  };
}

const queueDepth = (lifecycle: number, status: number) =>
  sqs
    .on(GetQueueAttributesCommand)
    .callsFake(async (input: { QueueUrl?: string }) =>
      depth(input.QueueUrl === LIFECYCLE_QUEUE ? lifecycle : status),
    );

function waitingGroup(instances: Partial<Instance>[] = [{}]) {
  aws.autoScaling
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupWith(instances)] });
}

describe('SQS batches', () => {
  it('handles every record and reports only the failed ones for redelivery', async () => {
    aws.ssm
      .on(SendCommandCommand)
      .rejectsOnce(Object.assign(new Error('boom'), { name: 'InternalServerError', $fault: 'server' }))
      .resolves({ Command: { CommandId: COMMAND_ID } });
    const { handler } = makeHandler({ env: QUEUED_ENV });
    // Another group: its own SendCommand (one group's starts share one).
    const other = lifecycleEvent({
      EC2InstanceId: 'i-0aaaaaaaaaaaaaaa1',
      LifecycleActionToken: '11111111-4321-4321-4321-210987654321',
      AutoScalingGroupName: 'other-asg',
    });
    const response = await handler(
      batch([
        { event: lifecycleEvent(), messageId: 'first' },
        { event: { ...other, id: 'other-event' }, messageId: 'second' },
      ]),
    );
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(response.batchItemFailures).toHaveLength(1);
  });

  it('brings a failed record back after a short back-off, not the queue’s 30-minute visibility timeout', async () => {
    // Outage prevented: a start that failed once hid for 30 minutes, counted in flight, and held back the
    // adoption of its own instance until the hook timed out and the instance went undrained.
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    aws.ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError', $fault: 'server' }));
    const { handler } = makeHandler({ env: QUEUED_ENV });
    const response = await handler(batch([{ event: lifecycleEvent(), receiveCount: 3 }]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
    expect(sqs).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: LIFECYCLE_QUEUE,
      ReceiptHandle: 'r-0',
      VisibilityTimeout: retryDelaySeconds(3),
    });
    // 20 s, 40 s, 80 s, then 120 s: five receives end within the smallest HeartbeatTimeout (900 s).
    expect([1, 2, 3, 4, 5].map(retryDelaySeconds)).toEqual([20, 40, 80, 120, 120]);
    expect([1, 2, 3, 4, 5].map(retryDelaySeconds).reduce((sum, s) => sum + s, 0)).toBeLessThan(900 / 2);
  });

  it('returns a failed record all the same when its visibility cannot be changed', async () => {
    sqs
      .on(ChangeMessageVisibilityCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    aws.ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError', $fault: 'server' }));
    const { handler, log } = makeHandler({ env: QUEUED_ENV });
    const response = await handler(batch([{ event: lifecycleEvent() }]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
    expect(
      log.entries.some((entry) => entry.message.startsWith('could not bring a failed record back')),
    ).toBe(true);
  });

  it('handles an event that EventBridge put twice into one batch once', async () => {
    const { handler } = makeHandler({ env: QUEUED_ENV });
    const response = await handler(batch([{ event: lifecycleEvent() }, { event: lifecycleEvent() }]));
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('drops a message whose body is not JSON (logged, never redelivered) and makes no AWS call for it', async () => {
    const { handler, log } = makeHandler({ env: QUEUED_ENV });
    const response = await handler(batch([{ event: 'not json {' }]));
    expect(response.batchItemFailures).toEqual([]);
    expect(aws.ssm.calls()).toHaveLength(0);
    expect(log.entries.some((entry) => /not an event/.test(entry.message))).toBe(true);
  });
});

describe('start: the duplicate check costs a ListCommands only when the event may be a duplicate', () => {
  it('sends at once for a first delivery that reached the queue promptly', async () => {
    const { handler } = makeHandler({ env: QUEUED_ENV });
    await handler(batch([{ event: lifecycleEvent() }]));
    expect(aws.ssm).not.toHaveReceivedCommand(ListCommandsCommand);
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it('looks for the command of an earlier attempt on a redelivery, and sends nothing when it exists', async () => {
    serveCommands(aws, [listedCommand()]);
    const { handler } = makeHandler({ env: QUEUED_ENV });
    await handler(batch([{ event: lifecycleEvent(), receiveCount: 2 }]));
    expect(aws.ssm).toHaveReceivedCommand(ListCommandsCommand);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('looks for an adoption when the event reached the queue late (the reconciler may have adopted it)', async () => {
    serveCommands(aws, [
      listedCommand({
        RequestedDateTime: new Date(EVENT_MS + 60_000),
        params: { drainId: `adopted-${INSTANCE}-202611221001` },
      }),
    ]);
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 90_000 });
    const result = await handler(batch([{ event: lifecycleEvent(), sentMs: EVENT_MS + 80_000 }]));
    expect(result.batchItemFailures).toEqual([]);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('still checks every event that came without SQS (a direct invocation)', async () => {
    const { handler } = makeHandler({ env: QUEUED_ENV });
    await handler(lifecycleEvent());
    expect(aws.ssm).toHaveReceivedCommand(ListCommandsCommand);
  });
});

describe('finish: the command comment names the drain', () => {
  it('round-trips, with a digest for a group name too long for SSM’s 100 characters', () => {
    const long = `g${'x'.repeat(200)}`;
    for (const group of [GROUP, long]) {
      const comment = commandComment({ drainId: TOKEN, autoScalingGroupName: group });
      expect(comment.length).toBeLessThanOrEqual(100);
      expect(readCommandComment(comment, new Set(['other', group]))).toEqual({
        drainId: TOKEN,
        groupName: group,
      });
    }
    expect(
      readCommandComment(commandComment({ drainId: TOKEN, autoScalingGroupName: 'x' }), new Set([GROUP])),
    ).toBe(undefined);
    expect(readCommandComment(`fleet-drainer ${INSTANCE} ${GROUP}`, new Set([GROUP]))).toBe(undefined);
  });

  it('completes from GetCommandInvocation alone: no ListCommands', async () => {
    aws.ssm.on(GetCommandInvocationCommand).resolves(drainedInvocation());
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 200_000 });
    const response = await handler(batch([{ event: statusEvent() }]));
    expect(response.batchItemFailures).toEqual([]);
    expect(aws.ssm).not.toHaveReceivedCommand(ListCommandsCommand);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
  });

  it('starts no record once the invocation is about to run out; the rest come back as batch item failures', async () => {
    // Outage prevented: a status batch whose lookups were slow ran into the function timeout, and Lambda
    // returned the whole batch, the completed records too, each receive bringing them closer to the DLQ.
    const { handler, clock, log } = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 200_000 });
    const deadlineMs = clock.nowMs + 300_000;
    aws.ssm.on(GetCommandInvocationCommand).callsFake(async () => {
      clock.nowMs += 110_000; // a slow SSM: each record costs over a third of the invocation
      return drainedInvocation();
    });
    const records = ['a', 'b', 'c', 'd'].map((id) => ({
      event: { ...statusEvent(), id: `status-${id}` },
      messageId: id,
    }));
    const response = await handler(batch(records), {
      getRemainingTimeInMillis: () => deadlineMs - clock.nowMs,
    });
    // 300 s: a and b start (190 s left after a, 80 s after b: under RECORD_RESERVE_MS), c and d do not.
    expect(RECORD_RESERVE_MS).toBeGreaterThan(80_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'c' }, { itemIdentifier: 'd' }]);
    expect(aws.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 2);
    expect(log.entries.some((entry) => entry.message.startsWith('too little time left'))).toBe(true);
  });

  it('reads the listing of a command sent by an earlier version (its comment names no drain)', async () => {
    serveCommands(aws, [listedCommand({ Status: 'Success' })]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Comment: `fleet-drainer ${INSTANCE} ${GROUP}`,
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${reportJson()}\n`,
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 200_000 });
    expect((await handler(statusEvent())).result).toBe('completed');
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, { CommandId: COMMAND_ID });
  });
});

describe('reconcile with event queues', () => {
  it('adopts nothing while lifecycle events wait in the queue (they are late, not lost)', async () => {
    waitingGroup();
    queueDepth(250, 0);
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 120_000 });
    const result = await handler(tickEvent(new Date(EVENT_MS + 120_000).toISOString()));
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 0, queuedLifecycleEvents: 250 });
  });

  it('adopts as before once the lifecycle queue is empty', async () => {
    waitingGroup();
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 120_000 });
    const result = await handler(tickEvent(new Date(EVENT_MS + 120_000).toISOString()));
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 1 });
  });

  it('adopts nothing when events arrive in the queue during the adoption delay', async () => {
    waitingGroup();
    sqs.on(GetQueueAttributesCommand).resolvesOnce(depth(0)).resolvesOnce(depth(0)).resolves(depth(40));
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 120_000 });
    const result = await handler(tickEvent(new Date(EVENT_MS + 120_000).toISOString()));
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 0 });
  });

  it('leaves a finished drain to its queued status event, unless its heartbeat is due', async () => {
    waitingGroup();
    serveCommands(aws, [listedCommand({ Status: 'Success' })]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${reportJson()}\n`,
      ExecutionEndDateTime: new Date(EVENT_MS + 10_000).toISOString(),
    });
    queueDepth(0, 900);
    const notDue = FIRST_DUE_TICK_MS + 60_000;
    const quiet = makeHandler({ env: QUEUED_ENV, nowMs: notDue });
    await quiet.handler(tickEvent(new Date(notDue).toISOString()));
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    // Its heartbeat is due: one call either way, and completing ends the action.
    const due = makeHandler({ env: QUEUED_ENV, nowMs: FIRST_DUE_TICK_MS });
    const result = await due.handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()));
    expect(aws.autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(JSON.parse(result.result)).toMatchObject({ finished: 1, queuedStatusEvents: 900 });
  });

  it('at its heartbeat, leaves a drain that ended moments ago to its status event when none are queued', async () => {
    // The race it prevents: the tick lists, the event completes, the tick completes again ("No active") and
    // then probes the instance for adoption: two wasted Auto Scaling calls.
    waitingGroup();
    serveCommands(aws, [listedCommand({ Status: 'Success' })]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${reportJson()}\n`,
      ExecutionEndDateTime: new Date(FIRST_DUE_TICK_MS - 2000).toISOString(),
    });
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: FIRST_DUE_TICK_MS });
    await handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()));
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('finishes a drain whose status event is lost once it ended a while ago and the status queue is empty', async () => {
    waitingGroup();
    serveCommands(aws, [listedCommand({ Status: 'Success' })]);
    const tickMs = FIRST_DUE_TICK_MS + 60_000;
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${reportJson()}\n`,
      ExecutionEndDateTime: new Date(tickMs - LOST_STATUS_EVENT_MS - 1000).toISOString(),
    });
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: tickMs });
    const result = await handler(tickEvent(new Date(tickMs).toISOString()));
    expect(JSON.parse(result.result)).toMatchObject({ finished: 1, queuedStatusEvents: 0 });
  });

  it('still heartbeats when the queue depth cannot be read (logged)', async () => {
    waitingGroup();
    serveCommands(aws, [listedCommand()]);
    sqs.on(GetQueueAttributesCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    const { handler, log } = makeHandler({ env: QUEUED_ENV, nowMs: FIRST_DUE_TICK_MS });
    await handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()));
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(log.entries.some((entry) => entry.message === 'CONFIGURATION ERROR during reconcile')).toBe(true);
  });

  it('reads the depth with GetQueueAttributes, and nothing for a queue that is not configured', async () => {
    const port = createQueuesPort(new SQSClient({ region: 'us-west-2' }), {
      lifecycleQueueUrl: LIFECYCLE_QUEUE,
      statusQueueUrl: undefined,
    });
    queueDepth(7, 0);
    expect(await port.waitingMessages('lifecycle')).toBe(7);
    expect(await port.waitingMessages('status')).toBe(undefined);
    expect(sqs).toHaveReceivedCommandExactlyOnceWith(GetQueueAttributesCommand, {
      QueueUrl: LIFECYCLE_QUEUE,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    });
  });

  it('counts events in flight and delayed as waiting: a lifecycle event being retried blocks adoption', async () => {
    // Outage prevented: a start whose batch failed waits out its visibility timeout invisible; adoption that
    // read only the visible count took its instance for lost and raced the retried start with a second drain.
    waitingGroup();
    sqs
      .on(GetQueueAttributesCommand)
      .callsFake(async (input: { QueueUrl?: string }) =>
        input.QueueUrl === LIFECYCLE_QUEUE ? depth(0, 1, 0) : depth(0),
      );
    const inFlight = makeHandler({ env: QUEUED_ENV, nowMs: EVENT_MS + 120_000 });
    const result = await inFlight.handler(tickEvent(new Date(EVENT_MS + 120_000).toISOString()));
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 0, queuedLifecycleEvents: 1 });
    const port = createQueuesPort(new SQSClient({ region: 'us-west-2' }), {
      lifecycleQueueUrl: LIFECYCLE_QUEUE,
      statusQueueUrl: STATUS_QUEUE,
    });
    sqs.on(GetQueueAttributesCommand).resolves(depth(2, 3, 4));
    expect(await port.waitingMessages('lifecycle')).toBe(9);
    // The status queue's in-flight events are being handled: they do not hold back the lost-event fallback.
    expect(await port.waitingMessages('status')).toBe(6);
    // A count SQS leaves out makes the depth unknown, not smaller.
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });
    expect(await port.waitingMessages('lifecycle')).toBe(undefined);
  });
});

describe('queued events and the tick’s lookups', () => {
  it('an adopted drain’s status event that waited behind a storm is not taken for a stale one', async () => {
    // Outage prevented: an adopted drain never completed (and adopted again) because its queued event
    // arrived later than the short window an adopted drain is trusted for.
    const adopted = `adopted-${INSTANCE}-202611221000`;
    const endedMs = EVENT_MS + 100_000;
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Comment: commandComment({ drainId: adopted, autoScalingGroupName: GROUP }),
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${reportJson({ id: adopted })}\n`,
      ExecutionEndDateTime: new Date(endedMs).toISOString(),
    });
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: endedMs + 900_000 });
    await handler(batch([{ event: statusEvent(), sentMs: endedMs + 2000 }]));
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      InstanceId: INSTANCE,
    });
  });

  it('a failed lookup of one waiting instance’s finished commands costs no heartbeat, and adopts nothing', async () => {
    const second = 'i-0bbbbbbbbbbbbbbb2';
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [groupWith([{}, { InstanceId: second }])],
    });
    const running = listedCommand();
    aws.ssm.on(ListCommandsCommand).callsFake(async (input: { InstanceId?: string }) => {
      if (input.InstanceId === second)
        throw Object.assign(new Error('Rate exceeded'), { name: 'InternalServerError', $fault: 'server' });
      return { Commands: input.InstanceId === undefined ? [running] : [] };
    });
    const { handler } = makeHandler({ env: QUEUED_ENV, nowMs: FIRST_DUE_TICK_MS });
    const result = await handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()));
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(JSON.parse(result.result)).toMatchObject({ heartbeats: 1, adopted: 0, failures: 1 });
  });
});
