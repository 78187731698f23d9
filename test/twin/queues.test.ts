// The event queues in the twin: rules deliver to SQS queues, an event source mapping hands batches of at most
// BatchSize to the function with at most MaximumConcurrency at once, a failed record comes back after the
// visibility timeout, one received maxReceiveCount times goes to the dead-letter queue, and the SQS API
// answers the real SQSClient. All on a manual clock, with no handler (the test plays the function).

import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  QueueDoesNotExist,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createQueuesPort } from '../../lambda/aws/sqs';
import { ENV_LIFECYCLE_QUEUE_URL, ENV_STATUS_QUEUE_URL } from '../../lambda/config';
import { readSqsBatch } from '../../lambda/sqs-batch';
import { ManualClock } from '../../twin/clock';
import { EventBus } from '../../twin/event-bus';
import type { BusEvent } from '../../twin/event-envelope';
import { QueueSet } from '../../twin/queues';
import { type CfnTemplate, readTemplate } from '../../twin/template';
import { Timeline } from '../../twin/timeline';
import { Twin } from '../../twin/twin';
import { synthesizeTemplate } from './real-template';

const real = synthesizeTemplate();
const realRead = readTemplate(real);
const queueIdOf = (prefix: string) =>
  realRead.queues.find((queue) => queue.logicalId.startsWith(`Drainer${prefix}`))?.logicalId as string;

let twin: Twin | undefined;
afterEach(async () => {
  await twin?.stop();
  twin = undefined;
});

/** A queue with a dead-letter queue, read by a mapping, and a rule that delivers `source: test` to it. */
function queueTemplate(
  mapping: Record<string, unknown> = {},
  queue: Record<string, unknown> = {},
): CfnTemplate {
  return {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Dead: { Type: 'AWS::SQS::Queue', Properties: {} },
      Events: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          VisibilityTimeout: 60,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dead', 'Arn'] }, maxReceiveCount: 2 },
          ...queue,
        },
      },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Events', 'Arn'] },
          FunctionName: { Ref: 'Fn' },
          BatchSize: 3,
          ScalingConfig: { MaximumConcurrency: 2 },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ...mapping,
        },
      },
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: { source: ['test'] },
          Targets: [{ Arn: { 'Fn::GetAtt': ['Events', 'Arn'] }, Id: 'Queue' }],
        },
      },
    },
  };
}

interface Invocation {
  event: { Records: { messageId: string; body: string; attributes: Record<string, string> }[] };
  end: (response?: unknown) => void;
  fail: (error: Error) => void;
}

/** An event bus over the template's queues and mappings, whose function the test answers. */
function harness(template: CfnTemplate, concurrency?: number) {
  const clock = new ManualClock(Date.parse('2026-11-22T10:00:00Z'));
  const timeline = new Timeline(clock);
  const read = readTemplate(template);
  const queues = new QueueSet(read.queues);
  const invocations: Invocation[] = [];
  const bus = new EventBus(
    read.rules,
    (event) =>
      new Promise((resolve, reject) =>
        invocations.push({ event: event as Invocation['event'], end: resolve, fail: reject }),
      ),
    clock,
    timeline,
    { retryAttempts: 0, retryDelaysMs: [], concurrency, queues, mappings: read.mappings },
  );
  const publish = (...ids: string[]) => {
    for (const id of ids)
      bus.publish({ id, source: 'test', 'detail-type': 'x', detail: {} } as unknown as BusEvent);
    // One beat delivers to the queue, the next lets the mapping look.
    timeline.pump();
    timeline.pump();
  };
  const ids = (invocation: Invocation | undefined) =>
    invocation?.event.Records.map((record) => (JSON.parse(record.body) as BusEvent).id);
  const advance = (ms: number) => {
    clock.advance(ms);
    timeline.pump();
    timeline.pump();
  };
  return { clock, timeline, bus, queues, invocations, publish, ids, advance };
}

describe('reading the construct’s template', () => {
  it('finds both event queues, their dead-letter queue and the mappings that feed the drainer', () => {
    const lifecycle = realRead.queues.find((queue) => queue.logicalId === queueIdOf('LifecycleEvents'));
    const failed = realRead.queues.find((queue) => queue.logicalId.startsWith('DrainerFailedEvents'));
    expect(lifecycle).toMatchObject({
      url: `https://sqs.us-west-2.amazonaws.com/123456789012/twin-${queueIdOf('LifecycleEvents')}`,
      visibilityTimeoutSeconds: 1800,
      redrive: { deadLetterTargetArn: failed?.arn, maxReceiveCount: 5 },
    });
    expect(realRead.mappings.map((mapping) => mapping.queueId).sort()).toEqual(
      [queueIdOf('LifecycleEvents'), queueIdOf('StatusEvents')].sort(),
    );
    for (const mapping of realRead.mappings) {
      // Lifecycle events in batches of 100 gathered for 1 s (batched starts); status events 10 at once.
      const lifecycle = mapping.queueId === queueIdOf('LifecycleEvents');
      expect(mapping).toMatchObject({
        batchSize: lifecycle ? 100 : 10,
        maximumBatchingWindowSeconds: lifecycle ? 1 : 0,
        maximumConcurrency: mapping.queueId === queueIdOf('StatusEvents') ? 2 : 5,
        reportBatchItemFailures: true,
        enabled: true,
      });
    }
  });

  it('gives the function the queue URLs that the SQS API knows', () => {
    const env = realRead.drainer.environment;
    expect(env[ENV_LIFECYCLE_QUEUE_URL]).toBe(
      realRead.queues.find((q) => q.logicalId === queueIdOf('LifecycleEvents'))?.url,
    );
    expect(env[ENV_STATUS_QUEUE_URL]).toBe(
      realRead.queues.find((q) => q.logicalId === queueIdOf('StatusEvents'))?.url,
    );
  });

  it('routes the lifecycle and status rules to their queues and the schedule to the function', () => {
    const byPattern = (source: string) =>
      realRead.rules.find((rule) => (rule.eventPattern?.source as string[] | undefined)?.[0] === source);
    expect(byPattern('aws.autoscaling')).toMatchObject({
      targetsFunction: false,
      queueIds: [queueIdOf('LifecycleEvents')],
    });
    expect(byPattern('aws.ssm')).toMatchObject({
      targetsFunction: false,
      queueIds: [queueIdOf('StatusEvents')],
    });
    expect(realRead.rules.find((rule) => rule.schedulePeriodMs !== undefined)).toMatchObject({
      targetsFunction: true,
      queueIds: [],
    });
  });

  it('finds the drainer through a mapping alone, and says so when nothing targets a function', () => {
    expect(readTemplate(queueTemplate()).drainer.logicalId).toBe('Fn');
    const none = queueTemplate();
    delete none.Resources.Mapping;
    expect(() => readTemplate(none)).toThrow(
      /expected exactly one Lambda function targeted by the rules or event source mappings, found 0/,
    );
  });
});

describe('routing through the queues (the construct’s template)', () => {
  it('lifecycle and status events reach the function through their queues; the schedule directly', async () => {
    const clock = new ManualClock(Date.now());
    twin = await Twin.start({ template: real, clock, handler: 'none' });
    const { groupName, hookName } = realRead.hooks[0] as { groupName: string; hookName: string };
    const documentName = [...realRead.documents.keys()][0] as string;
    const base = { version: '0', account: '123456789012', region: 'us-west-2', resources: [] };
    twin.bus.publish({
      ...base,
      id: 'lifecycle-1',
      source: 'aws.autoscaling',
      'detail-type': 'EC2 Instance-terminate Lifecycle Action',
      time: new Date(clock.now()).toISOString(),
      detail: { AutoScalingGroupName: groupName, LifecycleHookName: hookName, EC2InstanceId: 'i-1' },
    } as BusEvent);
    twin.bus.publish({
      ...base,
      id: 'status-1',
      source: 'aws.ssm',
      'detail-type': 'EC2 Command Invocation Status-change Notification',
      time: new Date(clock.now()).toISOString(),
      detail: { 'document-name': documentName, status: 'Success', 'instance-id': 'i-1' },
    } as BusEvent);
    clock.advance(60_000);
    await twin.waitFor(() => (twin?.bus.invocations.length ?? 0) >= 2, 'the tick and the status event', 5000);
    // The lifecycle queue's mapping gathers its batch for a second (its batching window) on the twin's clock.
    clock.advance(1000);
    await twin.waitFor(() => (twin?.bus.invocations.length ?? 0) >= 3, 'three invocations', 5000);
    const queueOf = (id: string) => twin?.bus.invocations.find((i) => i.event.id === id)?.queue;
    expect(queueOf('lifecycle-1')).toBe(`twin-${queueIdOf('LifecycleEvents')}`);
    expect(queueOf('status-1')).toBe(`twin-${queueIdOf('StatusEvents')}`);
    const tick = twin.bus.invocations.find((i) => i.event['detail-type'] === 'Scheduled Event');
    expect(tick).toMatchObject({ attempt: 0 });
    expect(tick?.queue).toBeUndefined();
    // Handled (no error): deleted from the queues.
    await vi.waitFor(() => expect(twin?.queues.all().map((queue) => queue.all().length)).toEqual([0, 0, 0]));
  });
});

describe('an event source mapping', () => {
  it('hands the function a real SQS event that the Lambda reads', () => {
    const h = harness(queueTemplate());
    h.publish('a');
    const record = h.invocations[0]?.event.Records[0] as unknown as Record<string, unknown>;
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:twin-Events',
      awsRegion: 'us-west-2',
      messageAttributes: {},
      receiptHandle: expect.any(String),
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(h.clock.now()),
        ApproximateFirstReceiveTimestamp: String(h.clock.now()),
        SenderId: expect.any(String),
      },
    });
    expect(readSqsBatch(h.invocations[0]?.event)).toEqual([
      {
        messageId: record.messageId,
        receiptHandle: record.receiptHandle,
        queueArn: 'arn:aws:sqs:us-west-2:123456789012:twin-Events',
        event: expect.objectContaining({ id: 'a' }),
        delivery: { receiveCount: 1, sentMs: h.clock.now() },
      },
    ]);
  });

  it('takes at most BatchSize messages a batch and runs at most MaximumConcurrency batches; the rest wait in order', async () => {
    const h = harness(queueTemplate());
    h.publish('1', '2', '3', '4', '5', '6', '7', '8', '9', '10');
    expect(h.invocations.map(h.ids)).toEqual([
      ['1', '2', '3'],
      ['4', '5', '6'],
    ]);
    expect(h.queues.get('Events')?.counts(h.clock.now())).toEqual({ visible: 4, notVisible: 6 });
    h.invocations[1]?.end({ batchItemFailures: [] });
    await vi.waitFor(() => expect(h.invocations).toHaveLength(3));
    expect(h.ids(h.invocations[2])).toEqual(['7', '8', '9']);
    h.invocations[0]?.end(undefined);
    await vi.waitFor(() => expect(h.invocations).toHaveLength(4));
    expect(h.ids(h.invocations[3])).toEqual(['10']);
  });

  it('shares the function’s concurrency with asynchronous invocations', async () => {
    const h = harness(queueTemplate(), 1);
    h.publish('1', '2', '3', '4');
    expect(h.invocations.map(h.ids)).toEqual([['1', '2', '3']]);
    h.invocations[0]?.end();
    await vi.waitFor(() => expect(h.invocations.map(h.ids)).toEqual([['1', '2', '3'], ['4']]));
  });

  it('has no cap of its own without ScalingConfig', () => {
    const h = harness(queueTemplate({ ScalingConfig: undefined }));
    h.publish('1', '2', '3', '4', '5', '6', '7');
    expect(h.invocations).toHaveLength(3);
  });

  it('waits for a full batch up to MaximumBatchingWindowInSeconds', () => {
    const h = harness(queueTemplate({ MaximumBatchingWindowInSeconds: 5 }));
    h.publish('1', '2');
    expect(h.invocations).toHaveLength(0);
    h.advance(5000);
    expect(h.invocations.map(h.ids)).toEqual([['1', '2']]);
  });

  it('deletes what succeeded; a listed record comes back after the visibility timeout, received twice', async () => {
    const h = harness(queueTemplate());
    h.publish('a', 'b');
    const [first] = h.invocations as [Invocation];
    const failedId = first.event.Records[0]?.messageId as string;
    first.end({ batchItemFailures: [{ itemIdentifier: failedId }] });
    await vi.waitFor(() => expect(h.queues.get('Events')?.all()).toHaveLength(1));
    // Waiting out its visibility timeout, the failed record is in flight: NotVisible, not visible.
    const queue = h.queues.get('Events');
    expect(queue?.counts(h.clock.now())).toEqual({ visible: 0, notVisible: 1 });
    h.advance(59_999);
    expect(queue?.counts(h.clock.now())).toEqual({ visible: 0, notVisible: 1 });
    expect(h.invocations).toHaveLength(1);
    h.advance(1);
    expect(h.invocations).toHaveLength(2);
    expect(queue?.counts(h.clock.now())).toEqual({ visible: 0, notVisible: 1 });
    const again = h.invocations[1]?.event.Records;
    expect(again?.map((record) => [record.messageId, record.attributes.ApproximateReceiveCount])).toEqual([
      [failedId, '2'],
    ]);
    expect(h.bus.invocations.map((i) => [i.event.id, i.attempt, i.error])).toEqual([
      ['a', 0, 'batch item failure'],
      ['b', 0, undefined],
      ['a', 1, undefined],
    ]);
    // Queued again when it became visible again.
    expect(h.bus.invocations[2]?.queuedMs).toBe(h.clock.now());
  });

  it('fails the whole batch on an invocation error or a response it cannot read', async () => {
    const h = harness(queueTemplate());
    h.publish('a', 'b', 'c');
    h.invocations[0]?.fail(new Error('boom'));
    h.publish('d');
    await vi.waitFor(() => expect(h.bus.invocations.filter((i) => i.error === 'boom')).toHaveLength(3));
    h.invocations[1]?.end({ batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] });
    await vi.waitFor(() => expect(h.bus.invocations[3]?.error).toMatch(/malformed batch response/));
    expect(h.queues.get('Events')?.all()).toHaveLength(4);
    h.advance(60_000);
    expect(h.invocations.slice(2).map(h.ids)).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('moves a message received maxReceiveCount times that fails again to the dead-letter queue', async () => {
    const h = harness(queueTemplate());
    h.publish('a');
    for (let receive = 1; receive <= 2; receive += 1) {
      const invocation = h.invocations[receive - 1] as Invocation;
      expect(invocation.event.Records[0]?.attributes.ApproximateReceiveCount).toBe(String(receive));
      invocation.end({ batchItemFailures: [{ itemIdentifier: invocation.event.Records[0]?.messageId }] });
      await vi.waitFor(() => expect(h.bus.invocations[receive - 1]?.error).toBe('batch item failure'));
      h.advance(60_000);
    }
    expect(h.invocations).toHaveLength(2);
    const dead = h.queues.get('Dead');
    expect(dead?.deadLetters.map((letter) => [letter.message.event.id, letter.fromQueue])).toEqual([
      ['a', 'twin-Events'],
    ]);
    expect(dead?.all()).toHaveLength(1);
    expect(h.queues.get('Events')?.all()).toHaveLength(0);
  });

  it('deletes the whole batch on any response without ReportBatchItemFailures', async () => {
    const h = harness(queueTemplate({ FunctionResponseTypes: undefined }));
    h.publish('a', 'b');
    h.invocations[0]?.end({ batchItemFailures: [{ itemIdentifier: 'x' }] });
    await vi.waitFor(() => expect(h.queues.get('Events')?.all()).toHaveLength(0));
  });

  it('applies drop, duplicate and delay at delivery, and a crash to the batch that carries the event', async () => {
    const h = harness(queueTemplate({ BatchSize: 10 }));
    h.bus.inject({ kind: 'drop', match: (e) => e.id === 'dropped' });
    h.bus.inject({ kind: 'duplicate', match: (e) => e.id === 'twice' });
    h.bus.inject({ kind: 'delay', match: (e) => e.id === 'late', delayMs: 1000 });
    h.bus.inject({ kind: 'crash', match: (e) => e.id === 'crash' });
    h.publish('dropped', 'twice', 'late', 'crash');
    // The crash took the batch: the handler never saw it.
    expect(h.invocations).toHaveLength(0);
    await vi.waitFor(() =>
      expect(h.bus.invocations.map((i) => [i.event.id, i.error])).toEqual([
        ['twice', 'twin: injected crash before the handler ran'],
        ['twice', 'twin: injected crash before the handler ran'],
        ['crash', 'twin: injected crash before the handler ran'],
      ]),
    );
    h.advance(1000);
    expect(h.invocations.map(h.ids)).toEqual([['late']]);
    h.advance(59_000);
    expect(h.invocations.map(h.ids)).toEqual([['late'], ['twice', 'twice', 'crash']]);
    expect(h.invocations[1]?.event.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual([
      '2',
      '2',
      '2',
    ]);
  });
});

describe('the SQS JSON API', () => {
  const client = (url: string) =>
    new SQSClient({
      endpoint: url,
      region: 'us-west-2',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });

  /** The real template's twin on a manual clock, its lifecycle queue, and the Lambda's port over a real client. */
  const lifecycleQueue = async () => {
    const clock = new ManualClock(Date.now());
    const started = await Twin.start({ template: real, clock, handler: 'none' });
    twin = started;
    const lifecycle = started.queues.get(queueIdOf('LifecycleEvents'));
    const event = {
      id: 'e',
      source: 'aws.autoscaling',
      'detail-type': 'x',
      detail: {},
    } as unknown as BusEvent;
    const sqs = client(started.url);
    const url = started.environment[ENV_LIFECYCLE_QUEUE_URL] as string;
    const port = createQueuesPort(sqs, {
      lifecycleQueueUrl: url,
      statusQueueUrl: started.environment[ENV_STATUS_QUEUE_URL],
    });
    return { twin: started, clock, lifecycle, event, sqs, url, port };
  };

  it('answers GetQueueAttributes for the real SQSClient, as the Lambda reads it', async () => {
    const { twin, clock, lifecycle, event, sqs, url, port } = await lifecycleQueue();
    lifecycle?.send(event, clock.now());
    lifecycle?.send(event, clock.now());
    lifecycle?.receive(1, clock.now());
    const counts = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(counts.Attributes).toEqual({ ApproximateNumberOfMessages: '1' });
    const all = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(all.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '0',
      QueueArn: lifecycle?.arn,
      VisibilityTimeout: '1800',
    });
    const call = twin.calls.find((c) => c.service === 'sqs');
    expect(call).toMatchObject({ operation: 'GetQueueAttributes', input: { QueueUrl: url } });
    // The Lambda's own port over the same client.
    expect(await port.waitingMessages('lifecycle')).toBe(2);
    expect(await port.waitingMessages('status')).toBe(0);
    sqs.destroy();
  });

  it('changes an in-flight message’s visibility by its receipt handle (ChangeMessageVisibility), as the Lambda does for a failed record', async () => {
    const { clock, lifecycle, event, sqs, url, port } = await lifecycleQueue();
    lifecycle?.send(event, clock.now());
    const [received] = lifecycle?.receive(1, clock.now()) ?? [];
    // Hidden for the queue's 1,800 s; brought back after 20 s instead.
    await port.retryAfter(lifecycle?.arn as string, received?.receiptHandle as string, 20);
    expect(lifecycle?.counts(clock.now() + 19_999)).toEqual({ visible: 0, notVisible: 1 });
    expect(lifecycle?.counts(clock.now() + 20_000)).toEqual({ visible: 1, notVisible: 0 });
    await expect(
      sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: 'nope', VisibilityTimeout: 5 }),
      ),
    ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
    sqs.destroy();
  });

  it('answers an unknown queue with QueueDoesNotExist, its Query code and message', async () => {
    twin = await Twin.start({ template: real, clock: new ManualClock(Date.now()), handler: 'none' });
    const sqs = client(twin.url);
    const error = await sqs
      .send(
        new GetQueueAttributesCommand({
          QueueUrl: 'https://sqs.us-west-2.amazonaws.com/123456789012/nope',
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({
      name: 'QueueDoesNotExist',
      message: 'The specified queue does not exist.',
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      $metadata: { httpStatusCode: 400 },
    });
    sqs.destroy();
  });

  it('throttles with RequestThrottled when a fault says so', async () => {
    twin = await Twin.start({ template: real, clock: new ManualClock(Date.now()), handler: 'none' });
    twin.faults.throttle('sqs', 'GetQueueAttributes', 1);
    const sqs = client(twin.url);
    const error = await sqs
      .send(
        new GetQueueAttributesCommand({
          QueueUrl: twin.environment[ENV_LIFECYCLE_QUEUE_URL],
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SQSServiceException);
    expect(error).toMatchObject({ name: 'RequestThrottled', $metadata: { httpStatusCode: 403 } });
    sqs.destroy();
    // The SDK takes it for throttling and retries it.
    twin.faults.throttle('sqs', 'GetQueueAttributes', 2);
    const retrying = new SQSClient({
      endpoint: twin.url,
      region: 'us-west-2',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 3,
    });
    const counts = await retrying.send(
      new GetQueueAttributesCommand({
        QueueUrl: twin.environment[ENV_LIFECYCLE_QUEUE_URL],
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(counts.Attributes?.ApproximateNumberOfMessages).toBe('0');
    expect(counts.$metadata.attempts).toBe(3);
    retrying.destroy();
  });
});
