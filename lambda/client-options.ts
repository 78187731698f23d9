// Options of every AWS SDK client the Lambda builds.

/**
 * Throttling (`Throttling`, `ThrottlingException`) and `ResourceContention` (HTTP 500) are retried by the
 * SDK with exponential backoff; adaptive mode also rate-limits the client once the shared Auto Scaling API
 * budget runs out. Ten attempts ride out a burst without losing the call.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
export const CLIENT_OPTIONS = { retryMode: 'adaptive', maxAttempts: 10 } as const;

/**
 * The reconcile tick's own Auto Scaling and SSM clients retry in standard mode. Its calls are few and
 * time-critical (heartbeats must go out within minutes of its scheduled time), and it is idle between
 * ticks: after a throttle, adaptive mode lets a client send at about twice its recently measured rate,
 * which for a client idle until the tick began means a crawl, while the event path's busy clients keep
 * the budget. Standard mode retries with jittered exponential backoff and does not hold back first
 * attempts, so the tick keeps its share of a budget that a storm of events is using.
 */
export const RECONCILE_CLIENT_OPTIONS = { retryMode: 'standard', maxAttempts: 10 } as const;
