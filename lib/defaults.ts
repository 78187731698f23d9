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
 * The smallest HeartbeatTimeout we set: the reconciler heartbeats once per (H − period − margin)/2, so 900 s
 * is one heartbeat per drain every 6 minutes on the shared Auto Scaling budget, and a Lambda outage of a few
 * minutes times no action out. The cost: an instance whose drainer is gone waits up to H.
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

/** The drainer function's memory: a tick over 10,000 drains peaks at 154 MB RSS (bench/scale-bench.mjs). */
export const FUNCTION_MEMORY_MB = 256;

/**
 * The longest unique name of a drainer (in its document, hook and service names): `FleetDrain-` and 100
 * characters stay within SSM's 128 for a document name.
 */
export const UNIQUE_NAME_MAX_CHARS = 100;

/** Auto Scaling's limit on a lifecycle hook name (PutLifecycleHook's LifecycleHookName). */
export const HOOK_NAME_MAX_CHARS = 255;

/**
 * Batches of one event queue handled at once (the mapping's MaximumConcurrency): a storm waits in SQS, not in
 * throttled Auto Scaling and SSM calls, and the tick keeps capacity. Not reserved concurrency, which a fresh
 * account (limit 10) refuses. https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
 */
export const EVENT_QUEUE_MAX_CONCURRENCY = 5;
/**
 * The status queue's: 2, the service minimum. Each status event completes an action on the account's one
 * Auto Scaling budget, which the tick's heartbeats need too: two environments complete a storm's drains as
 * fast as that budget allows and leave the tick most of it.
 */
export const STATUS_QUEUE_MAX_CONCURRENCY = 2;
/** Status events per batch (the mapping's BatchSize; the handler runs them one at a time). */
export const EVENT_QUEUE_BATCH_SIZE = 10;
/**
 * Lifecycle events per batch: the handler starts those of one group (and policy) with one SendCommand per 50
 * instances, SendCommand's limit on InstanceIds (API_SendCommand.html), so a batch of 100 is two full
 * commands, or full ones for a scale-in of two groups at once. A standard queue's mapping takes up to 10,000
 * with a batching window of at least 1 s (services-sqs-parameters.html); larger batches would pack no better
 * and make one invocation hold more starts (each may wait out its unreachable grace) under the function
 * timeout. 100 events of ~1.5 KB each stay far below the 6 MB invocation payload.
 */
export const LIFECYCLE_QUEUE_BATCH_SIZE = 100;
/**
 * How long the lifecycle mapping gathers events before it invokes the function, when fewer than a batch wait
 * (MaximumBatchingWindowInSeconds, 0–300 s; at least 1 s above a batch of 10: services-sqs-parameters.html).
 * Auto Scaling emits a scale-in's events within moments of each other, so 1 s, the least allowed, already
 * gathers them; every second more would delay the drain of a lone instance by as much, while its
 * `Terminating:Wait` time is the drain's.
 */
export const LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS = 1;
/**
 * The event queues' visibility timeout, in function timeouts: AWS asks for at least 6 × on a queue a mapping
 * consumes, or a throttled batch's records come back and run twice; the reconciler covers the slower retry.
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
 * retention: a dead letter keeps its original enqueue time, so it must be allowed to live longer there.
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
 * N drains at once need N / PLANNED_AUTO_SCALING_CALLS_PER_SECOND seconds for their first Auto Scaling calls;
 * H ≥ 3 × that gives them a third of H and leaves the rest to heartbeats, describes and other callers.
 */
export const HEARTBEAT_TIMEOUT_HEADROOM = 3;
/**
 * The most `maxConcurrentDrains` can be: the H it needs (HEARTBEAT_TIMEOUT_HEADROOM × N /
 * PLANNED_AUTO_SCALING_CALLS_PER_SECOND) reaches the service's largest HeartbeatTimeout, 7200 s.
 */
export const MAX_CONCURRENT_DRAINS = Math.floor(
  (HEARTBEAT_TIMEOUT_MAX_SECONDS * PLANNED_AUTO_SCALING_CALLS_PER_SECOND) / HEARTBEAT_TIMEOUT_HEADROOM,
);

/** What the drainer does on an EC2 instance rebalance recommendation (`onRebalanceRecommendation`). */
export { DEFAULT_REBALANCE_ACTION, REBALANCE_ACTIONS, type RebalanceAction } from '../lambda/config';
