// The construct's defaults and bounds, in one place that the code, the JSDoc and the README share.

import { Duration, aws_logs as logs } from 'aws-cdk-lib';
import {
  DEFAULT_EXPIRY_GRACE_SECONDS,
  DEFAULT_MAX_DRAIN_SECONDS,
  DEFAULT_TICK_PERIOD_SECONDS,
  HEARTBEAT_TIMEOUT_RANGE,
  DEFAULT_RESULT_POLICY as LAMBDA_DEFAULT_RESULT_POLICY,
  MAX_DRAIN_SECONDS_LIMIT,
} from '../lambda/config';

/** Default maximum drain time: one hour, the Lambda's own default and Auto Scaling's default hook timeout. */
export const DEFAULT_MAX_DRAIN_TIME = Duration.seconds(DEFAULT_MAX_DRAIN_SECONDS);
/**
 * The longest drain: a lifecycle action can never wait past min(48 h, 100 × HeartbeatTimeout), and
 * aws:runShellScript runs at most 48 h. https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
 */
export const MAX_DRAIN_TIME = Duration.seconds(MAX_DRAIN_SECONDS_LIMIT);
export const MIN_DRAIN_TIME = Duration.minutes(1);

/** Default reconcile period: one minute, EventBridge's finest schedule. */
export const DEFAULT_RECONCILE_PERIOD = Duration.seconds(DEFAULT_TICK_PERIOD_SECONDS);
export const MIN_RECONCILE_PERIOD = Duration.minutes(1);
/** At most a quarter of the largest HeartbeatTimeout (7200 s): the Lambda heartbeats from ticks (H ≥ 4 periods). */
export const MAX_RECONCILE_PERIOD = Duration.minutes(30);

/**
 * The smallest HeartbeatTimeout we set, although a shorter one would cover short drains: the reconciler
 * heartbeats once per slot of (H − period − margin)/2 (lambda/heartbeat-schedule.ts), so 900 s means one
 * heartbeat every 6 minutes per drain (300 s would mean one a minute on the shared Auto Scaling API
 * budget), and a Lambda outage of several minutes (a failed deploy, throttling) does not let an action time
 * out. The cost of a larger H: an instance whose drainer is gone waits up to H before the default result
 * (CONTINUE) lets it go.
 */
export const MIN_HEARTBEAT_TIMEOUT_SECONDS = 900;
export const [HEARTBEAT_TIMEOUT_MIN_SECONDS, HEARTBEAT_TIMEOUT_MAX_SECONDS] = HEARTBEAT_TIMEOUT_RANGE;

/**
 * What the hook's global timeout must cover beyond the maximum drain time: the reconciler completes a drain
 * still running past its deadline after the Lambda's expiry grace, so the service must not cut it first.
 */
export const LIFECYCLE_MARGIN = Duration.seconds(DEFAULT_EXPIRY_GRACE_SECONDS);

/**
 * The document's execution timeout beyond the maximum drain time: node's start, the finally steps and the
 * report. The agent clips its own waits to the deadline, so this only catches a host that hangs.
 */
export const DOCUMENT_TIMEOUT_MARGIN = Duration.minutes(5);
/** aws:runShellScript's longest execution timeout. */
export const MAX_DOCUMENT_TIMEOUT_SECONDS = 172_800;

/** The terminate hook's name on every group. */
export const DEFAULT_HOOK_NAME = 'fleet-drainer';
/** Marks the hook as fleet-drainer's (NotificationMetadata), for people and tools looking at the group. */
export const HOOK_METADATA = JSON.stringify({ managedBy: 'fleet-drainer' });

/** Default result policy: always CONTINUE (the Lambda's own default). */
export const DEFAULT_RESULT_POLICY = LAMBDA_DEFAULT_RESULT_POLICY;
/** Alarms are created by default. */
export const DEFAULT_ALARMS = true;
/** CloudWatch Logs retention of the drainer Lambda's logs. */
export const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

/** How EventBridge retries a rule target before the event goes to the dead-letter queue. */
export const RULE_RETRY_ATTEMPTS = 8;
export const RULE_MAX_EVENT_AGE = Duration.hours(2);
/** Lambda's own retries of an asynchronous invocation before the on-failure destination. */
export const ASYNC_RETRY_ATTEMPTS = 2;
export const ASYNC_MAX_EVENT_AGE = Duration.hours(1);
/** Failed events are kept this long in the dead-letter queue for inspection. */
export const FAILED_EVENTS_RETENTION = Duration.days(14);
