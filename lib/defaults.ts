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
 * heartbeats once per slot of (H − period − margin)/2 (lambda/decide/heartbeat-schedule.ts), so 900 s means one
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

/** The terminate hook's name on every group: this, `-`, and the drainer's unique name in the app. */
export const DEFAULT_HOOK_NAME_PREFIX = 'fleet-drainer';
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
/** Failed events are kept this long in the dead-letter queue for inspection (longer than the event queues). */
export const FAILED_EVENTS_RETENTION = Duration.days(14);

/**
 * The drainer function's timeout. The event path may retry SendCommand for the unreachable grace and a tick
 * may wait the adoption delay: both well under this.
 */
export const FUNCTION_TIMEOUT = Duration.minutes(5);

/**
 * How many batches of one event queue the function processes at once (the event source mapping's
 * MaximumConcurrency; 2 is the service minimum). It caps the execution environments that handle events, so a
 * storm of lifecycle events (a scale-in of the whole fleet) waits in SQS instead of in throttled Auto Scaling
 * and SSM calls, and the reconcile tick, invoked directly by its schedule, always finds capacity and API
 * budget. A cap on the mapping, not reserved concurrency: reserving would fail `cdk deploy` in a fresh
 * account, whose concurrency limit is 10.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 */
export const EVENT_QUEUE_MAX_CONCURRENCY = 5;
/**
 * The status queue's: 2, the service minimum. Each status event completes a lifecycle action on the
 * account's one Auto Scaling budget, which the reconcile tick's heartbeats need too; two environments (the
 * handler runs their records one at a time) complete a storm's drains as fast as that budget lets them and
 * leave the tick most of it.
 */
export const STATUS_QUEUE_MAX_CONCURRENCY = 2;
/** Events per batch (the mapping's BatchSize; the handler runs a batch's records a few at a time). */
export const EVENT_QUEUE_BATCH_SIZE = 10;
/**
 * The event queues' visibility timeout, in function timeouts: an event whose invocation failed comes back
 * after this. AWS asks for at least 6 × for a queue that an event source mapping consumes: the mapping may
 * retry a batch whose invocation was throttled, and a shorter timeout lets the same records come back, and
 * run twice, while that batch still runs. Slower redelivery of a failed event costs little: the reconciler
 * heartbeats, finishes and adopts from ground truth meanwhile.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export const EVENT_QUEUE_VISIBILITY_FACTOR = 6;
/**
 * Receives of one event before SQS moves it to the failed-events queue: five failed invocations, half an hour
 * apart, is a failure the reconciler has long covered, and the event is kept there for inspection.
 */
export const EVENT_QUEUE_MAX_RECEIVE_COUNT = 5;
/**
 * How long an event may wait in an event queue (the SQS default). Shorter than the failed-events queue's
 * retention: SQS keeps a message's original enqueue time when it moves it to the dead-letter queue, so a
 * dead letter must be allowed to live longer than the queue it came from.
 */
export const EVENT_QUEUE_RETENTION = Duration.days(4);
/**
 * The age of the oldest event in an event queue that raises its alarm: a drain starts (or finishes) this
 * late, and the lifecycle action has used that much of its HeartbeatTimeout (at least 15 minutes).
 */
export const EVENT_QUEUE_AGE_ALARM = Duration.minutes(15);

/** Default `maxConcurrentDrains`: a thousand instances draining at once. */
export const DEFAULT_MAX_CONCURRENT_DRAINS = 1000;
/**
 * Auto Scaling calls per second that fleet-drainer plans to use. Auto Scaling has one API budget per account
 * and Region, shared by every caller (the console, other tools, Auto Scaling's own users), and publishes no
 * figures for it: https://repost.aws/knowledge-center/autoscaling-api-calls-throttled
 */
export const PLANNED_AUTO_SCALING_CALLS_PER_SECOND = 10;
/**
 * Every lifecycle action needs at least one Auto Scaling call (its completion or a heartbeat) within H of its
 * event. With N drains at once, those first calls take N / PLANNED_AUTO_SCALING_CALLS_PER_SECOND seconds;
 * H ≥ 3 × that lets them take a third of the window, leaving the rest for heartbeats of long drains, the
 * reconciler's describes and the account's other users.
 */
export const HEARTBEAT_TIMEOUT_HEADROOM = 3;
/**
 * The most `maxConcurrentDrains` can be: the H it needs (HEARTBEAT_TIMEOUT_HEADROOM × N /
 * PLANNED_AUTO_SCALING_CALLS_PER_SECOND) reaches the service's largest HeartbeatTimeout, 7200 s.
 */
export const MAX_CONCURRENT_DRAINS = Math.floor(
  (HEARTBEAT_TIMEOUT_MAX_SECONDS * PLANNED_AUTO_SCALING_CALLS_PER_SECOND) / HEARTBEAT_TIMEOUT_HEADROOM,
);
