// Edge: the drainer's own event queues. How many events wait there (SQS GetQueueAttributes): the reconciler
// reads it so that it never mistakes a queued event for a lost one. And when a failed record comes back
// (ChangeMessageVisibility).
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-resources-required-process-messages.html
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html

import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DrainerConfig } from '../config';
import { callError } from './errors';
import type { QueuesPort } from './ports';

/**
 * Every state a lifecycle event can wait in: visible; in flight (received by a batch that is running, or that
 * failed and waits out its visibility timeout before it comes back); delayed. ApproximateNumberOfMessages
 * alone counts only the visible ones, so a start being handled right now, or retried later, would look lost
 * and its instance would be adopted by a second drain.
 */
const LIFECYCLE_DEPTH = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;
/**
 * The status queue's count only holds back the tick's completion of drains that ended minutes ago. An event in
 * flight there is being handled (or failed, and hides for 6 × the function timeout): the tick completing its
 * drain meanwhile is the fallback, not a race (the later event finds the action over). Counting in-flight
 * events would hold that fallback back for as long as a fleet's status events keep coming.
 */
const STATUS_DEPTH = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'] as const;

/** The queues port over a real (or mocked) client; a queue that is not configured has no count. */
export function createQueuesPort(
  client: SQSClient,
  config: Pick<DrainerConfig, 'lifecycleQueueUrl' | 'statusQueueUrl'>,
): QueuesPort {
  return {
    async waitingMessages(queue) {
      const url = queue === 'lifecycle' ? config.lifecycleQueueUrl : config.statusQueueUrl;
      const attributes = queue === 'lifecycle' ? LIFECYCLE_DEPTH : STATUS_DEPTH;
      if (url === undefined) return undefined;
      try {
        const response = await client.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...attributes] }),
        );
        // A count SQS leaves out is unknown, not zero: the depth is then unknown too.
        const counts = attributes.map((name) => Number(response.Attributes?.[name]));
        return counts.every(Number.isFinite) ? counts.reduce((sum, count) => sum + count, 0) : undefined;
      } catch (error) {
        throw callError(error, 'GetQueueAttributes');
      }
    },

    async retryAfter(queueArn, receiptHandle, seconds) {
      // A queue URL ends with the queue's name, as its ARN does.
      const name = queueArn.slice(queueArn.lastIndexOf(':') + 1);
      const url = [config.lifecycleQueueUrl, config.statusQueueUrl].find((candidate) =>
        candidate?.endsWith(`/${name}`),
      );
      if (url === undefined) return;
      try {
        await client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      } catch (error) {
        throw callError(error, 'ChangeMessageVisibility');
      }
    },
  };
}
