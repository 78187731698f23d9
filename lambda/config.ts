// The drainer Lambda's configuration: environment variables set by the FleetDrainer construct (lib/), which
// imports the names below so the two cannot drift. Lambda allows 4 KB of environment in total, so every
// value is short: numbers in seconds, group names comma-separated.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html

import { DRAIN_PARAMETERS } from '../agent/policy/drain-parameters';
import { DELIVERY_TIMEOUT_SECONDS } from './decide/drain-command';

/** Name of the fleet-drain SSM Command document. Required. */
export const ENV_DOCUMENT_NAME = 'FLEET_DRAINER_DOCUMENT_NAME';
/** Comma-separated names of the Auto Scaling groups to drain. Required. */
export const ENV_GROUP_NAMES = 'FLEET_DRAINER_GROUP_NAMES';
/** Name of the terminate lifecycle hook (the same on every configured group). Required. */
export const ENV_HOOK_NAME = 'FLEET_DRAINER_HOOK_NAME';
/** Maximum drain time in seconds: deadline = lifecycle event time + this. */
export const ENV_MAX_DRAIN_SECONDS = 'FLEET_DRAINER_MAX_DRAIN_SECONDS';
/** The hook's HeartbeatTimeout H in seconds; the reconciler heartbeats each drain once per slot of (H − period − margin) / 2. */
export const ENV_HEARTBEAT_TIMEOUT_SECONDS = 'FLEET_DRAINER_HEARTBEAT_TIMEOUT_SECONDS';
/** `CONTINUE` (always) or `ABANDON_ON_FAILURE` (ABANDON when the outcome is `incomplete` or `failed`). */
export const ENV_RESULT_POLICY = 'FLEET_DRAINER_RESULT_POLICY';
/** EventBridge bus for `Fleet Drain Started` / `Fleet Drain Finished`. */
export const ENV_EVENT_BUS_NAME = 'FLEET_DRAINER_EVENT_BUS_NAME';
/** How long SendCommand is retried on `InvalidInstanceId` before the drain ends as `unreachable`. */
export const ENV_UNREACHABLE_GRACE_SECONDS = 'FLEET_DRAINER_UNREACHABLE_GRACE_SECONDS';
/** How long an instance must sit in Terminating:Wait without a drain command before the reconciler adopts it. */
export const ENV_ADOPTION_DELAY_SECONDS = 'FLEET_DRAINER_ADOPTION_DELAY_SECONDS';
/** How long past its deadline a drain command may stay unfinished before the action is completed as `expired`. */
export const ENV_EXPIRY_GRACE_SECONDS = 'FLEET_DRAINER_EXPIRY_GRACE_SECONDS';
/** Period of the reconcile schedule in seconds (must match the schedule rule). */
export const ENV_TICK_PERIOD_SECONDS = 'FLEET_DRAINER_TICK_PERIOD_SECONDS';
/**
 * URL of the SQS queue that buffers lifecycle events for the function. Optional: the tick reads how many
 * wait there, and adopts nothing while some do (their events are not lost, only queued).
 */
export const ENV_LIFECYCLE_QUEUE_URL = 'FLEET_DRAINER_LIFECYCLE_QUEUE_URL';
/** URL of the SQS queue that buffers command status events. Optional: the tick finishes a drain whose
 * status event seems lost only while none wait there. */
export const ENV_STATUS_QUEUE_URL = 'FLEET_DRAINER_STATUS_QUEUE_URL';
/** What an EC2 rebalance recommendation does: `ignore` (default), `prepare` (the policy's prepare steps), `drain`. */
export const ENV_REBALANCE_ACTION = 'FLEET_DRAINER_REBALANCE_ACTION';

/** Every variable this module reads, for the construct and the README. */
export const CONFIG_ENV_NAMES = [
  ENV_DOCUMENT_NAME,
  ENV_GROUP_NAMES,
  ENV_HOOK_NAME,
  ENV_MAX_DRAIN_SECONDS,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_RESULT_POLICY,
  ENV_EVENT_BUS_NAME,
  ENV_UNREACHABLE_GRACE_SECONDS,
  ENV_ADOPTION_DELAY_SECONDS,
  ENV_EXPIRY_GRACE_SECONDS,
  ENV_TICK_PERIOD_SECONDS,
  ENV_LIFECYCLE_QUEUE_URL,
  ENV_STATUS_QUEUE_URL,
  ENV_REBALANCE_ACTION,
] as const;

/** Defaults, shared by code and docs. */
export const DEFAULT_MAX_DRAIN_SECONDS = 3600;
/** The service's own default HeartbeatTimeout. */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 3600;
export const DEFAULT_RESULT_POLICY = 'CONTINUE';
export const DEFAULT_EVENT_BUS_NAME = 'default';
export const DEFAULT_UNREACHABLE_GRACE_SECONDS = 30;
/** Under a minute, so a tick that adopts ends before the next one starts. */
export const DEFAULT_ADOPTION_DELAY_SECONDS = 45;
export const DEFAULT_EXPIRY_GRACE_SECONDS = 300;
export const DEFAULT_TICK_PERIOD_SECONDS = 60;
/** What a rebalance recommendation starts (`onRebalanceRecommendation`); `prepare` signals nothing. */
export const REBALANCE_ACTIONS = ['ignore', 'prepare', 'drain'] as const;
export type RebalanceAction = (typeof REBALANCE_ACTIONS)[number];
/** Ignored by default: a recommendation concerns Spot Instances only and need not end in an interruption. */
export const DEFAULT_REBALANCE_ACTION: RebalanceAction = 'ignore';

/** Hard bounds. The wait can never outlast min(48 h, 100 × H), and aws:runShellScript runs at most 48 h. */
export const MAX_DRAIN_SECONDS_LIMIT = 172_800;
export const HEARTBEAT_TIMEOUT_RANGE = [30, 7200] as const;
/**
 * Grace and delay are spent sleeping inside one invocation, before the work that follows them (lookups, SDK
 * backoff, completion): two minutes each leaves room inside the construct's 5-minute function timeout.
 */
export const MAX_UNREACHABLE_GRACE_SECONDS = 120;
export const MAX_ADOPTION_DELAY_SECONDS = 120;
/** A day: an expiry grace beyond it would hold a dead drain's action far past any useful wait. */
export const MAX_EXPIRY_GRACE_SECONDS = 86_400;
/** The tick period: at least EventBridge's one minute, at most an hour. */
export const TICK_PERIOD_RANGE = [60, 3600] as const;
/** EventBridge schedules have a granularity of one minute: the tick period is a whole number of minutes. */
export const TICK_PERIOD_GRANULARITY_SECONDS = 60;
/** Auto Scaling cuts a lifecycle wait at 100 × the hook's heartbeat timeout (and at 48 h). */
export const LIFECYCLE_TIMEOUT_HEARTBEATS = 100;
/** The tick period is at most H/4, so a drain is heartbeated in time even when one tick is lost. */
export const TICKS_PER_HEARTBEAT_TIMEOUT = 4;

export type ResultPolicy = 'CONTINUE' | 'ABANDON_ON_FAILURE';

/** The parsed, validated configuration. Durations in milliseconds. */
export interface DrainerConfig {
  documentName: string;
  groupNames: ReadonlySet<string>;
  hookName: string;
  maxDrainMs: number;
  heartbeatTimeoutMs: number;
  resultPolicy: ResultPolicy;
  eventBusName: string;
  unreachableGraceMs: number;
  adoptionDelayMs: number;
  expiryGraceMs: number;
  tickPeriodMs: number;
  /** The event queues, when events come through SQS (the construct's setup). */
  lifecycleQueueUrl: string | undefined;
  statusQueueUrl: string | undefined;
  /** What a rebalance recommendation for an instance of a configured group does. */
  rebalanceAction: RebalanceAction;
}

export type ConfigResult = { ok: true; config: DrainerConfig } | { ok: false; errors: string[] };

// SSM document names: 3–128 of [a-zA-Z0-9_.-] (an ARN is also accepted by SendCommand).
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html
const DOCUMENT_NAME = /^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:document\/)?[A-Za-z0-9_.-]{3,128}$/;
const GROUP_OR_HOOK = new RegExp(DRAIN_PARAMETERS.autoScalingGroupName.pattern);
const QUEUE_URL = /^https?:\/\/[^\s/]+\/[^\s]+$/;
const EVENT_BUS_NAME = /^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[A-Za-z0-9/_.-]{1,256}$/;

/** Reads environment variables, collecting every problem instead of throwing. */
class EnvReader {
  readonly errors: string[] = [];
  constructor(private readonly env: Record<string, string | undefined>) {}

  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  required(name: string, pattern: RegExp): string {
    const value = this.text(name);
    if (value === undefined) this.errors.push(`${name} is required`);
    else if (!pattern.test(value)) this.errors.push(`${name} is not a valid name, got "${value}"`);
    return value ?? '';
  }

  /** Whole seconds within [min, max], in milliseconds; the default when unset or invalid. */
  seconds(name: string, fallback: number, [min, max]: readonly [number, number]): number {
    const value = this.text(name);
    if (value === undefined) return fallback * 1000;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.errors.push(`${name} must be a whole number of seconds from ${min} to ${max}, got "${value}"`);
      return fallback * 1000;
    }
    return parsed * 1000;
  }

  queueUrl(name: string): string | undefined {
    const value = this.text(name);
    if (value !== undefined && !QUEUE_URL.test(value))
      this.errors.push(`${name} is not an SQS queue URL, got "${value}"`);
    return value;
  }

  groupNames(): ReadonlySet<string> {
    const groupNames = new Set<string>();
    const groupList = this.text(ENV_GROUP_NAMES);
    if (groupList === undefined) this.errors.push(`${ENV_GROUP_NAMES} is required`);
    for (const name of (groupList ?? '').split(',').map((group) => group.trim())) {
      if (name === '' && groupList !== undefined) this.errors.push(`${ENV_GROUP_NAMES} has an empty name`);
      else if (name !== '' && !GROUP_OR_HOOK.test(name)) {
        this.errors.push(`${ENV_GROUP_NAMES} has an invalid group name "${name}"`);
      } else if (name !== '') groupNames.add(name);
    }
    return groupNames;
  }

  resultPolicy(): ResultPolicy {
    const policy = this.text(ENV_RESULT_POLICY) ?? DEFAULT_RESULT_POLICY;
    if (policy !== 'CONTINUE' && policy !== 'ABANDON_ON_FAILURE') {
      this.errors.push(`${ENV_RESULT_POLICY} must be CONTINUE or ABANDON_ON_FAILURE, got "${policy}"`);
    }
    return policy as ResultPolicy;
  }

  rebalanceAction(): RebalanceAction {
    const action = this.text(ENV_REBALANCE_ACTION) ?? DEFAULT_REBALANCE_ACTION;
    if (!(REBALANCE_ACTIONS as readonly string[]).includes(action)) {
      this.errors.push(`${ENV_REBALANCE_ACTION} must be ${REBALANCE_ACTIONS.join(', ')}, got "${action}"`);
      return DEFAULT_REBALANCE_ACTION;
    }
    return action as RebalanceAction;
  }

  eventBusName(): string {
    const eventBusName = this.text(ENV_EVENT_BUS_NAME) ?? DEFAULT_EVENT_BUS_NAME;
    if (!EVENT_BUS_NAME.test(eventBusName))
      this.errors.push(`${ENV_EVENT_BUS_NAME} is not a valid bus, got "${eventBusName}"`);
    return eventBusName;
  }
}

/** Reads and validates the configuration; never throws, returns every problem at once. */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const read = new EnvReader(env);
  const config: DrainerConfig = {
    documentName: read.required(ENV_DOCUMENT_NAME, DOCUMENT_NAME),
    hookName: read.required(ENV_HOOK_NAME, GROUP_OR_HOOK),
    groupNames: read.groupNames(),
    heartbeatTimeoutMs: read.seconds(
      ENV_HEARTBEAT_TIMEOUT_SECONDS,
      DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
      HEARTBEAT_TIMEOUT_RANGE,
    ),
    maxDrainMs: read.seconds(ENV_MAX_DRAIN_SECONDS, DEFAULT_MAX_DRAIN_SECONDS, [1, MAX_DRAIN_SECONDS_LIMIT]),
    unreachableGraceMs: read.seconds(ENV_UNREACHABLE_GRACE_SECONDS, DEFAULT_UNREACHABLE_GRACE_SECONDS, [
      0,
      MAX_UNREACHABLE_GRACE_SECONDS,
    ]),
    adoptionDelayMs: read.seconds(ENV_ADOPTION_DELAY_SECONDS, DEFAULT_ADOPTION_DELAY_SECONDS, [
      0,
      MAX_ADOPTION_DELAY_SECONDS,
    ]),
    expiryGraceMs: read.seconds(ENV_EXPIRY_GRACE_SECONDS, DEFAULT_EXPIRY_GRACE_SECONDS, [
      0,
      MAX_EXPIRY_GRACE_SECONDS,
    ]),
    tickPeriodMs: read.seconds(ENV_TICK_PERIOD_SECONDS, DEFAULT_TICK_PERIOD_SECONDS, TICK_PERIOD_RANGE),
    resultPolicy: read.resultPolicy(),
    eventBusName: read.eventBusName(),
    lifecycleQueueUrl: read.queueUrl(ENV_LIFECYCLE_QUEUE_URL),
    statusQueueUrl: read.queueUrl(ENV_STATUS_QUEUE_URL),
    rebalanceAction: read.rebalanceAction(),
  };
  const errors = [...read.errors, ...timingErrors(config)];
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/**
 * The lifecycle action can never outlive min(48 h, 100 × H): a longer wait is cut by the service. The wait
 * we may need: the delivery wait, the drain, the expiry grace, an adoption delay, and up to H after the last
 * heartbeat. https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
 */
function lifecycleWaitError(config: DrainerConfig): string | undefined {
  const { maxDrainMs, expiryGraceMs, heartbeatTimeoutMs, adoptionDelayMs } = config;
  const globalTimeoutMs = Math.min(
    MAX_DRAIN_SECONDS_LIMIT * 1000,
    LIFECYCLE_TIMEOUT_HEARTBEATS * heartbeatTimeoutMs,
  );
  const neededMs =
    DELIVERY_TIMEOUT_SECONDS * 1000 + maxDrainMs + expiryGraceMs + heartbeatTimeoutMs + adoptionDelayMs;
  if (neededMs <= globalTimeoutMs) return undefined;
  return (
    `${ENV_MAX_DRAIN_SECONDS} + ${ENV_EXPIRY_GRACE_SECONDS} + delivery wait (${DELIVERY_TIMEOUT_SECONDS} s) + ` +
    `${ENV_HEARTBEAT_TIMEOUT_SECONDS} + ${ENV_ADOPTION_DELAY_SECONDS} must be at most ` +
    `min(48 h, ${LIFECYCLE_TIMEOUT_HEARTBEATS} × ${ENV_HEARTBEAT_TIMEOUT_SECONDS}) = ${globalTimeoutMs / 1000} s, got ${neededMs / 1000} s`
  );
}

/** Checks across the durations: each message names the variables involved. */
function timingErrors(config: DrainerConfig): string[] {
  const { tickPeriodMs, heartbeatTimeoutMs, adoptionDelayMs, unreachableGraceMs } = config;
  const errors: string[] = [];
  const wait = lifecycleWaitError(config);
  if (wait !== undefined) errors.push(wait);
  // Heartbeat slots are (H − period − margin) / 2 long (decide/heartbeat-schedule.ts): with a period of at most H/4
  // a drain is heartbeated in time even when one tick is lost.
  if (tickPeriodMs * TICKS_PER_HEARTBEAT_TIMEOUT > heartbeatTimeoutMs) {
    errors.push(
      `${ENV_TICK_PERIOD_SECONDS} must be at most a quarter of ${ENV_HEARTBEAT_TIMEOUT_SECONDS}, ` +
        `got ${tickPeriodMs / 1000} s for H = ${heartbeatTimeoutMs / 1000} s`,
    );
  }
  if (tickPeriodMs % (TICK_PERIOD_GRANULARITY_SECONDS * 1000) !== 0) {
    errors.push(
      `${ENV_TICK_PERIOD_SECONDS} must be a whole number of minutes (EventBridge schedule granularity), ` +
        `got ${tickPeriodMs / 1000} s`,
    );
  }
  // The event path may retry SendCommand for the whole grace; adopting before that would race it.
  if (adoptionDelayMs < unreachableGraceMs) {
    errors.push(
      `${ENV_ADOPTION_DELAY_SECONDS} must be at least ${ENV_UNREACHABLE_GRACE_SECONDS}, ` +
        `got ${adoptionDelayMs / 1000} s < ${unreachableGraceMs / 1000} s`,
    );
  }
  return errors;
}
