// Injected API failures: throttling, access denied and arbitrary AWS errors, for a number of calls, by service
// and operation.

import { AwsError } from './aws-error';
import { ACCOUNT_ID } from './commands';
import { REGION } from './event-envelope';
import { type RateLimit, TokenBucket } from './rate-limit';

export type Service = 'autoscaling' | 'cloudformation' | 'ssm' | 'events' | 'sqs';

interface ApiFault {
  service: Service;
  operation: string | undefined;
  remaining: number;
  error: (input: Record<string, unknown>) => AwsError;
}

/** Who is denied, and on what, in an access-denied fault; each has a default. */
export interface AccessDenial {
  /** The caller's ARN. Default: an assumed role of the twin's account. */
  principal?: string;
  /** The resource the message names; `null`: none. Default: per operation (see `deniedResource`). */
  resource?: string | null;
  /** How many calls are denied. Default 1. */
  times?: number;
}

export const DENIED_PRINCIPAL = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/twin-operator/twin-session`;

/**
 * The resource an implicit deny names by default, as AWS reports it: SendCommand's document
 * (github.com/aws/aws-cdk/issues/27412), a stack's ARN with any id for DescribeStacks
 * (github.com/aws-samples/aws-hpc-tutorials/issues/271), `arn:aws:ssm:<region>:<account>:*` for SSM's calls on
 * no resource (github.com/github-aws-runners/terraform-aws-github-runner/issues/1279), and none for Auto
 * Scaling's Describe calls, which have no resource level (github.com/hashicorp/nomad-autoscaler/issues/952).
 */
function deniedResource(service: Service, operation: string, input: Record<string, unknown>): string | null {
  if (service === 'ssm' && operation === 'SendCommand' && typeof input.DocumentName === 'string')
    return `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:document/${input.DocumentName}`;
  if (service === 'ssm') return `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:*`;
  if (service === 'cloudformation' && typeof input.StackName === 'string')
    return `arn:aws:cloudformation:${REGION}:${ACCOUNT_ID}:stack/${input.StackName}/*`;
  if (service === 'cloudformation') return `arn:aws:cloudformation:${REGION}:${ACCOUNT_ID}:stack/*/*`;
  return null;
}

/**
 * An implicit deny as each protocol returns it: `AccessDeniedException` (HTTP 400) from the JSON services,
 * `AccessDenied` (HTTP 403) from the Query ones, with IAM's message "User: <arn> is not authorized to perform:
 * <service>:<Operation> on resource: <arn> because no identity-based policy allows the <service>:<Operation>
 * action" (docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html; the codes and statuses:
 * github.com/aws/aws-cdk/issues/27412 for SSM, github.com/anomalyco/sst/issues/3006 for CloudFormation,
 * github.com/hashicorp/nomad-autoscaler/issues/952 for Auto Scaling).
 */
export function accessDeniedError(
  service: Service,
  operation: string,
  input: Record<string, unknown>,
  denial: AccessDenial = {},
): AwsError {
  if (service === 'sqs' || service === 'events')
    throw new Error(
      `twin: access-denied faults are emulated for autoscaling, cloudformation and ssm, not ${service}`,
    );
  const action = `${service}:${operation}`;
  const resource =
    denial.resource === undefined ? deniedResource(service, operation, input) : denial.resource;
  const message =
    `User: ${denial.principal ?? DENIED_PRINCIPAL} is not authorized to perform: ${action}` +
    `${resource === null ? '' : ` on resource: ${resource}`} because no identity-based policy allows the ${action} action`;
  return service === 'ssm'
    ? new AwsError('AccessDeniedException', message, 400)
    : new AwsError('AccessDenied', message, 403);
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

  /** The next calls of `operation` are denied: the caller's policy does not allow the action. */
  denyAccess(service: Service, operation: string, denial: AccessDenial = {}): void {
    // Refused at once for a service whose denial is not emulated, not at the call.
    accessDeniedError(service, operation, {}, denial);
    this.faults.push({
      service,
      operation,
      remaining: denial.times ?? 1,
      error: (input) => accessDeniedError(service, operation, input, denial),
    });
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
  take(
    service: Service,
    operation: string,
    nowMs: number,
    input: Record<string, unknown> = {},
  ): AwsError | undefined {
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
    return fault.error(input);
  }
}
