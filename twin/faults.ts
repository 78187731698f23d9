// Injected API failures: throttling and arbitrary AWS errors, for a number of calls, by service and operation.

import { AwsError } from './aws-error';
import { type RateLimit, TokenBucket } from './rate-limit';

export type Service = 'autoscaling' | 'ssm' | 'events' | 'sqs';

interface ApiFault {
  service: Service;
  operation: string | undefined;
  remaining: number;
  error: () => AwsError;
}

/**
 * Throttling as each service answers it (Auto Scaling: `Throttling`; SSM and EventBridge:
 * `ThrottlingException`; SQS: `RequestThrottled`, HTTP 403).
 */
export function throttlingError(service: Service): AwsError {
  if (service === 'autoscaling') return new AwsError('Throttling', 'Rate exceeded', 400);
  if (service === 'sqs') return new AwsError('RequestThrottled', 'Rate exceeded', 403);
  return new AwsError('ThrottlingException', 'Rate exceeded', 400);
}

/** Queued API faults, each for the next `times` matching calls; and rate limits, for every call. */
export class ApiFaults {
  private readonly faults: ApiFault[] = [];
  private readonly buckets: { service: Service; operation: string | undefined; bucket: TokenBucket }[] = [];

  /**
   * Calls of `service` (of `operation`, or every operation sharing one bucket) beyond `limit` answer with
   * throttling, from now on.
   */
  limitRate(service: Service, limit: RateLimit, operation?: string): void {
    this.buckets.push({ service, operation, bucket: new TokenBucket(limit) });
  }

  /** The next `times` calls (of `operation`, or any) answer with throttling. */
  throttle(service: Service, operation?: string, times = 1): void {
    this.faults.push({ service, operation, remaining: times, error: () => throttlingError(service) });
  }

  /** The next `times` calls of `operation` answer with this error (e.g. `ResourceContention`, HTTP 500). */
  fail(service: Service, operation: string, code: string, message: string, status = 400, times = 1): void {
    this.faults.push({
      service,
      operation,
      remaining: times,
      error: () => new AwsError(code, message, status),
    });
  }

  /** The error this call at `nowMs` must answer with, if a fault or a rate limit applies to it. */
  take(service: Service, operation: string, nowMs: number): AwsError | undefined {
    for (const limited of this.buckets) {
      if (limited.service !== service || (limited.operation ?? operation) !== operation) continue;
      if (!limited.bucket.take(nowMs)) return throttlingError(service);
    }
    const fault = this.faults.find(
      (candidate) =>
        candidate.remaining > 0 &&
        candidate.service === service &&
        (candidate.operation ?? operation) === operation,
    );
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    return fault.error();
  }
}
