// Options of every AWS SDK client the Lambda builds.

/**
 * Throttling (`Throttling`, `ThrottlingException`) and `ResourceContention` (HTTP 500) are retried by the
 * SDK with exponential backoff; adaptive mode also rate-limits the client once the shared Auto Scaling API
 * budget runs out. Ten attempts ride out a burst without losing the call.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
export const CLIENT_OPTIONS = { retryMode: 'adaptive', maxAttempts: 10 } as const;

/**
 * The SQS client sends to its own endpoint, not to the host named in a queue URL. By default the SDK prefers the
 * QueueUrl's host over an endpoint that came from the environment (`AWS_ENDPOINT_URL`), so an endpoint override
 * (a VPC endpoint, a local emulator) would be bypassed for every GetQueueAttributes and ChangeMessageVisibility.
 * In the function's own Region the two name the same place.
 */
export const SQS_CLIENT_OPTIONS = { ...CLIENT_OPTIONS, useQueueUrlAsEndpoint: false } as const;
