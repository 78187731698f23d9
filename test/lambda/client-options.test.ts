// The Lambda's SDK client options: what every client retries, and where the SQS client sends its requests.

import { Readable } from 'node:stream';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_OPTIONS, SQS_CLIENT_OPTIONS } from '../../lambda/aws/client-options';

/** A request handler that records each request's host and answers an empty GetQueueAttributes. */
function recordingHandler() {
  const hosts: string[] = [];
  return {
    hosts,
    handle: async (request: { hostname: string }) => {
      hosts.push(request.hostname);
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from('{"Attributes":{}}')]),
        },
      };
    },
  };
}

const QUEUE_URL = 'https://sqs.us-west-2.amazonaws.com/123456789012/fleet-drainer-lifecycle';

afterEach(() => vi.unstubAllEnvs());

describe('the SQS client', () => {
  it('sends to the endpoint the environment names (AWS_ENDPOINT_URL), never to the queue URL’s host', async () => {
    // Outage prevented: with an endpoint override (a VPC endpoint, the local twin), the SDK's default sent every
    // GetQueueAttributes to the host in the queue URL instead, around the override.
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    const handler = recordingHandler();
    const sqs = new SQSClient({
      ...SQS_CLIENT_OPTIONS,
      region: 'us-west-2',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: handler,
    });
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: QUEUE_URL, AttributeNames: ['All'] }));
    expect(handler.hosts).toEqual(['127.0.0.1']);
    sqs.destroy();
  });

  it('keeps the retries of every other client', () => {
    expect(SQS_CLIENT_OPTIONS).toMatchObject(CLIENT_OPTIONS);
  });
});
