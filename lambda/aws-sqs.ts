// Edge: how many events wait in the drainer's own event queues (SQS GetQueueAttributes). The reconciler
// reads it so that it never mistakes a queued event for a lost one.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DrainerConfig } from './config';
import { callError } from './errors';
import type { QueuesPort } from './ports';

/** The queues port over a real (or mocked) client; a queue that is not configured has no count. */
export function createQueuesPort(
  client: SQSClient,
  config: Pick<DrainerConfig, 'lifecycleQueueUrl' | 'statusQueueUrl'>,
): QueuesPort {
  return {
    async waitingMessages(queue) {
      const url = queue === 'lifecycle' ? config.lifecycleQueueUrl : config.statusQueueUrl;
      if (url === undefined) return undefined;
      try {
        const response = await client.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
        );
        const count = Number(response.Attributes?.ApproximateNumberOfMessages);
        return Number.isFinite(count) ? count : undefined;
      } catch (error) {
        throw callError(error, 'GetQueueAttributes');
      }
    },
  };
}
