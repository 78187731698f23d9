// SQS standard queues as the drainer's event queues use them: messages sent by EventBridge rules, received
// by Lambda's event source mapping (twin/event-bus.ts), hidden for the visibility timeout while a batch
// runs, deleted when it succeeds, visible again when it fails, and moved to the dead-letter queue once
// received `maxReceiveCount` times. Pure over the twin's clock: nothing moves unless a caller asks.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html

import { createHash, randomUUID } from 'node:crypto';
import { AwsError } from './aws-error';
import type { BusEvent } from './event-envelope';
import type { TemplateQueue } from './template';

export interface QueueMessage {
  messageId: string;
  /** A new one on every receive, as SQS gives. */
  receiptHandle: string;
  body: string;
  /** The EventBridge event the body carries (what the twin's records and faults look at). */
  event: BusEvent;
  /** SentTimestamp: when the message reached the queue (kept when it moves to the dead-letter queue). */
  sentMs: number;
  /** ApproximateReceiveCount. */
  receiveCount: number;
  /** ApproximateFirstReceiveTimestamp, once received. */
  firstReceiveMs: number | undefined;
  /** When it is (or becomes) visible: the send, or the end of its last visibility timeout. */
  visibleAtMs: number;
  /** When the wait for its latest receive began: the send, or when it became visible again. */
  queuedMs: number;
}

/** A dead letter: the message as it was moved, and when. */
export interface DeadLetter {
  message: QueueMessage;
  fromQueue: string;
  movedMs: number;
}

export class Queue {
  /** Messages in the queue (visible or not), by id, in the order they were sent. */
  private readonly messages = new Map<string, QueueMessage>();
  /** Messages moved here as to a dead-letter queue. */
  readonly deadLetters: DeadLetter[] = [];
  /** Where a message goes after `maxReceiveCount` receives. */
  deadLetterQueue: { queue: Queue; maxReceiveCount: number } | undefined;

  constructor(
    readonly spec: TemplateQueue,
    readonly visibilityTimeoutMs: number,
  ) {}

  get url(): string {
    return this.spec.url;
  }

  get arn(): string {
    return this.spec.arn;
  }

  /** SendMessage, as an EventBridge SQS target does: the body is the event's JSON. */
  send(event: BusEvent, nowMs: number): QueueMessage {
    const message: QueueMessage = {
      messageId: randomUUID(),
      receiptHandle: '',
      body: JSON.stringify(event),
      event,
      sentMs: nowMs,
      receiveCount: 0,
      firstReceiveMs: undefined,
      visibleAtMs: nowMs,
      queuedMs: nowMs,
    };
    this.messages.set(message.messageId, message);
    return message;
  }

  /**
   * ReceiveMessage: up to `max` visible messages, oldest first, hidden for the visibility timeout. A visible
   * message already received `maxReceiveCount` times is moved to the dead-letter queue instead, as SQS does.
   */
  receive(max: number, nowMs: number): QueueMessage[] {
    const taken: QueueMessage[] = [];
    for (const message of this.messages.values()) {
      if (taken.length >= max) break;
      if (message.visibleAtMs > nowMs) continue;
      const redrive = this.deadLetterQueue;
      if (redrive !== undefined && message.receiveCount >= redrive.maxReceiveCount) {
        this.remove(message);
        redrive.queue.deadLetters.push({ message, fromQueue: this.spec.name, movedMs: nowMs });
        redrive.queue.messages.set(message.messageId, { ...message, visibleAtMs: nowMs });
        continue;
      }
      message.receiveCount += 1;
      message.queuedMs = message.visibleAtMs;
      message.firstReceiveMs ??= nowMs;
      message.receiptHandle = randomUUID();
      message.visibleAtMs = nowMs + this.visibilityTimeoutMs;
      taken.push(message);
    }
    return taken;
  }

  /**
   * ChangeMessageVisibility: the in-flight message of `receiptHandle` becomes visible `seconds` from now (0 to
   * 12 hours). https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
   */
  changeVisibility(receiptHandle: string, seconds: number, nowMs: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`,
      );
    }
    const message = [...this.messages.values()].find(
      (candidate) => candidate.receiptHandle === receiptHandle,
    );
    if (receiptHandle === '' || message === undefined) {
      throw new AwsError('ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
    }
    if (message.visibleAtMs <= nowMs) {
      throw new AwsError('MessageNotInflight', 'The message referred to is not in flight.');
    }
    message.visibleAtMs = nowMs + seconds * 1000;
  }

  /** DeleteMessage (by the message, as the event source mapping deletes what its batch handled). */
  remove(message: QueueMessage): void {
    if (this.messages.get(message.messageId) === message) this.messages.delete(message.messageId);
  }

  /** Every message still in the queue, visible or not. */
  all(): readonly QueueMessage[] {
    return [...this.messages.values()];
  }

  /** ApproximateNumberOfMessages (visible) and ApproximateNumberOfMessagesNotVisible (in flight). */
  counts(nowMs: number): { visible: number; notVisible: number } {
    let visible = 0;
    for (const message of this.messages.values()) if (message.visibleAtMs <= nowMs) visible += 1;
    return { visible, notVisible: this.messages.size - visible };
  }

  /** When the oldest visible message became visible; undefined when none is visible. */
  oldestVisibleMs(nowMs: number): number | undefined {
    let oldest: number | undefined;
    for (const message of this.messages.values()) {
      if (message.visibleAtMs <= nowMs && (oldest === undefined || message.visibleAtMs < oldest))
        oldest = message.visibleAtMs;
    }
    return oldest;
  }

  /** When the next hidden message becomes visible; undefined when none is hidden. */
  nextVisibleMs(nowMs: number): number | undefined {
    let next: number | undefined;
    for (const message of this.messages.values()) {
      if (message.visibleAtMs > nowMs && (next === undefined || message.visibleAtMs < next))
        next = message.visibleAtMs;
    }
    return next;
  }
}

/** The template's queues, by logical id, URL and ARN; dead-letter queues wired up. */
export class QueueSet {
  private readonly byId = new Map<string, Queue>();

  constructor(specs: readonly TemplateQueue[], visibilityTimeoutMs?: number) {
    for (const spec of specs) {
      this.byId.set(
        spec.logicalId,
        new Queue(spec, visibilityTimeoutMs ?? spec.visibilityTimeoutSeconds * 1000),
      );
    }
    for (const queue of this.byId.values()) {
      const redrive = queue.spec.redrive;
      if (redrive === undefined) continue;
      const target = [...this.byId.values()].find(
        (candidate) => candidate.arn === redrive.deadLetterTargetArn,
      );
      if (target) queue.deadLetterQueue = { queue: target, maxReceiveCount: redrive.maxReceiveCount };
    }
  }

  get(logicalId: string): Queue | undefined {
    return this.byId.get(logicalId);
  }

  all(): Queue[] {
    return [...this.byId.values()];
  }

  /** The queue a URL names, as the SQS API looks it up. */
  byUrl(url: unknown): Queue {
    const queue = typeof url === 'string' ? this.all().find((candidate) => candidate.url === url) : undefined;
    if (queue === undefined) throw queueDoesNotExist();
    return queue;
  }
}

/** SQS's error for an unknown queue URL (JSON protocol code; the Query code goes in x-amzn-query-error). */
export function queueDoesNotExist(): AwsError {
  return new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', 400);
}

/** A record of an SQS event as Lambda's event source mapping builds it. */
export function sqsRecord(message: QueueMessage, queue: Queue, region: string) {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentMs),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveMs ?? message.sentMs),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(message.body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: region,
  };
}
