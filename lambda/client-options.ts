// Options of every AWS SDK client the Lambda builds.

/**
 * Throttling (`Throttling`, `ThrottlingException`) and `ResourceContention` (HTTP 500) are retried by the
 * SDK with exponential backoff; adaptive mode also rate-limits the client once the shared Auto Scaling API
 * budget runs out. Ten attempts ride out a burst without losing the call.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
export const CLIENT_OPTIONS = { retryMode: 'adaptive', maxAttempts: 10 } as const;
