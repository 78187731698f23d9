// The SQS JSON 1.0 API (`X-Amz-Target: AmazonSQS.*`, `application/x-amz-json-1.0`) for what the drainer
// Lambda calls: GetQueueAttributes on its event queues, and ChangeMessageVisibility on a record it returns. SQS is "query compatible": the SDK sends
// `x-amzn-query-mode: true`, errors carry `__type` as a Smithy shape id (`com.amazonaws.sqs#QueueDoesNotExist`)
// and the Query API's code in `x-amzn-query-error` (`AWS.SimpleQueueService.NonExistentQueue;Sender`).
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html

import { AwsError } from './aws-error';
import type { QueueSet } from './queues';

export const SQS_CONTENT_TYPE = 'application/x-amz-json-1.0';

/** The Query API's error code for each JSON code the twin answers with (the SDK's awsQueryError traits). */
const QUERY_CODES: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight',
};

/** An SQS error body and headers: `__type` with the namespace, and the Query code for the SDK. */
export function sqsError(error: AwsError): { body: string; headers: Record<string, string> } {
  const type = `com.amazonaws.sqs#${error.code}`;
  return {
    body: JSON.stringify({ __type: type, message: error.message }),
    headers: { 'x-amzn-query-error': `${QUERY_CODES[error.code] ?? error.code};${error.type}` },
  };
}

const ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'QueueArn',
  'VisibilityTimeout',
  'RedrivePolicy',
] as const;

/** Runs one SQS operation against the twin's queues. */
export function sqsOperation(
  queues: QueueSet,
  operation: string,
  input: Record<string, unknown>,
  nowMs: number,
): unknown {
  if (operation === 'ChangeMessageVisibility') {
    queues
      .byUrl(input.QueueUrl)
      .changeVisibility(String(input.ReceiptHandle ?? ''), Number(input.VisibilityTimeout), nowMs);
    return {};
  }
  if (operation !== 'GetQueueAttributes') {
    throw new AwsError('UnsupportedOperation', `The twin does not emulate ${operation}.`);
  }
  const queue = queues.byUrl(input.QueueUrl);
  const requested = Array.isArray(input.AttributeNames)
    ? (input.AttributeNames as unknown[]).map(String)
    : [];
  for (const name of requested) {
    if (name !== 'All' && !(ATTRIBUTES as readonly string[]).includes(name)) {
      throw new AwsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
  }
  const names = requested.includes('All') ? ATTRIBUTES : requested;
  const counts = queue.counts(nowMs);
  const values: Record<string, string | undefined> = {
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
    // Neither the queues nor EventBridge's target set a delay.
    ApproximateNumberOfMessagesDelayed: '0',
    QueueArn: queue.arn,
    VisibilityTimeout: String(Math.round(queue.visibilityTimeoutMs / 1000)),
    RedrivePolicy: queue.spec.redrive === undefined ? undefined : JSON.stringify(queue.spec.redrive),
  };
  const attributes = Object.fromEntries(
    names.flatMap((name) => (values[name] === undefined ? [] : [[name, values[name] as string]])),
  );
  // SQS leaves out an empty map.
  return Object.keys(attributes).length === 0 ? {} : { Attributes: attributes };
}
