// Reads an SQS batch (the event queues' event source mapping): each record's body is one EventBridge event.
// Pure and total: a record that is not an SQS message with a JSON body is reported as such, never thrown.
// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html

/** How SQS delivered an event: what the start path needs to tell a redelivery or a late event. */
export interface Delivery {
  /** ApproximateReceiveCount: above 1, an earlier attempt may have done part of the work. */
  receiveCount: number;
  /** SentTimestamp: when the event reached the queue. */
  sentMs: number;
}

export interface BatchRecord {
  messageId: string;
  /** What ChangeMessageVisibility needs to bring a failed record back sooner (empty when absent). */
  receiptHandle: string;
  /** The queue's ARN (eventSourceARN; empty when absent). */
  queueArn: string;
  /** The EventBridge event, or undefined when the body is not JSON. */
  event: unknown;
  delivery: Delivery | undefined;
}

/** An SQS event as Lambda's event source mapping sends it (the fields read here). */
export interface SqsEvent {
  Records: readonly {
    eventSource: 'aws:sqs';
    messageId: string;
    receiptHandle: string;
    eventSourceARN: string;
    body: string;
    attributes: { ApproximateReceiveCount: string; SentTimestamp: string } & Record<string, string>;
  }[];
}

/** What the handler returns for a batch: the records to redeliver (ReportBatchItemFailures). */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

type Fields = Record<string, unknown>;
const asFields = (value: unknown): Fields | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;

/** The records of an SQS event, or undefined when `event` is not one. */
export function readSqsBatch(event: unknown): BatchRecord[] | undefined {
  const records = asFields(event)?.Records;
  if (!Array.isArray(records) || records.length === 0) return undefined;
  if (!records.every((record) => asFields(record)?.eventSource === 'aws:sqs')) return undefined;
  return records.map((raw) => {
    const record = raw as Fields;
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    const messageId = text(record.messageId);
    let body: unknown;
    try {
      body = typeof record.body === 'string' ? JSON.parse(record.body) : undefined;
    } catch {
      body = undefined;
    }
    const attributes = asFields(record.attributes) ?? {};
    const receiveCount = Number(attributes.ApproximateReceiveCount);
    const sentMs = Number(attributes.SentTimestamp);
    const delivery =
      Number.isFinite(receiveCount) && Number.isFinite(sentMs) ? { receiveCount, sentMs } : undefined;
    return {
      messageId,
      receiptHandle: text(record.receiptHandle),
      queueArn: text(record.eventSourceARN),
      event: body,
      delivery,
    };
  });
}

/** A failed record's first retry, after this many seconds (then doubled on each receive). */
export const RETRY_FIRST_SECONDS = 20;
/** The longest a failed record waits before it comes back. */
export const RETRY_MAX_SECONDS = 120;

/**
 * When a record that failed on its `receiveCount`-th receive comes back: 20 s, 40 s, 80 s, then every 120 s,
 * instead of the queue's 30-minute visibility timeout, during which its instance would wait undrained and the
 * tick, counting it in flight, would adopt nothing. A start that keeps failing reaches the dead-letter queue
 * within minutes, and adoption takes over.
 */
export function retryDelaySeconds(receiveCount: number): number {
  const attempt = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  return Math.min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** Math.min(attempt - 1, 10));
}

/** True for an SQS batch response (what Lambda's event source mapping reads). */
export function isBatchResponse(value: unknown): value is BatchResponse {
  return Array.isArray(asFields(value)?.batchItemFailures);
}
