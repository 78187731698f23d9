// The terminate hook's HeartbeatTimeout H, and the longest drain a lifecycle action can hold.

import { DEFAULT_ADOPTION_DELAY_SECONDS, DEFAULT_EXPIRY_GRACE_SECONDS } from '../lambda/config';
import { DELIVERY_TIMEOUT_SECONDS } from '../lambda/decide/drain-command';
import {
  DEFAULT_MAX_CONCURRENT_DRAINS,
  HEARTBEAT_TIMEOUT_HEADROOM,
  HEARTBEAT_TIMEOUT_MAX_SECONDS,
  HEARTBEAT_TIMEOUT_MIN_SECONDS,
  MAX_DRAIN_TIME,
  MIN_HEARTBEAT_TIMEOUT_SECONDS,
  PLANNED_AUTO_SCALING_CALLS_PER_SECOND,
} from './defaults';

/**
 * What a lifecycle action may wait beyond the drain (lambda/config.ts checks the same): SendCommand's delivery
 * wait (then `unreachable`), the Lambda's grace before `expired`, and the adoption delay; then up to H after
 * the last heartbeat.
 */
export const LIFECYCLE_OVERHEAD_SECONDS =
  DELIVERY_TIMEOUT_SECONDS + DEFAULT_EXPIRY_GRACE_SECONDS + DEFAULT_ADOPTION_DELAY_SECONDS;

/** Auto Scaling's global timeout of a lifecycle action: this many times H (and at most 48 hours). */
export const GLOBAL_TIMEOUT_HEARTBEATS = 100;

/** H spans at least this many reconcile periods: the Lambda heartbeats from ticks, with room for a lost one. */
export const MIN_RECONCILE_PERIODS_PER_HEARTBEAT_TIMEOUT = 4;

/** The longest the service lets a lifecycle action wait with heartbeats: min(48 h, 100 × H). */
export const globalTimeoutSeconds = (heartbeatSeconds: number): number =>
  Math.min(MAX_DRAIN_TIME.toSeconds(), GLOBAL_TIMEOUT_HEARTBEATS * heartbeatSeconds);

/** The longest wait a drain of `maxDrainSeconds` may need from its lifecycle action. */
export const neededWaitSeconds = (maxDrainSeconds: number, heartbeatSeconds: number): number =>
  maxDrainSeconds + LIFECYCLE_OVERHEAD_SECONDS + heartbeatSeconds;

/**
 * The H (seconds) that `maxConcurrentDrains` drains at once need: each action's first Auto Scaling call within
 * a third of H (HEARTBEAT_TIMEOUT_HEADROOM) at PLANNED_AUTO_SCALING_CALLS_PER_SECOND. 1,000 drains: 300 s.
 */
export const apiBudgetSeconds = (maxConcurrentDrains: number): number =>
  Math.ceil((HEARTBEAT_TIMEOUT_HEADROOM * maxConcurrentDrains) / PLANNED_AUTO_SCALING_CALLS_PER_SECOND);

/**
 * The smallest H (seconds) whose global timeout covers neededWaitSeconds, that spans the minimum reconcile
 * periods and the API budget (apiBudgetSeconds), and is at least MIN_HEARTBEAT_TIMEOUT_SECONDS; the caller
 * checks the 48 hours (maxDrainSeconds). https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
 */
export function heartbeatTimeoutSeconds(
  maxDrainSeconds: number,
  reconcilePeriodSeconds: number,
  maxConcurrentDrains = DEFAULT_MAX_CONCURRENT_DRAINS,
): number {
  // 100 × H ≥ drain + overhead + H  ⇔  H ≥ (drain + overhead) / 99
  const covering = Math.ceil(
    (maxDrainSeconds + LIFECYCLE_OVERHEAD_SECONDS) / (GLOBAL_TIMEOUT_HEARTBEATS - 1),
  );
  const h = Math.max(
    MIN_HEARTBEAT_TIMEOUT_SECONDS,
    covering,
    MIN_RECONCILE_PERIODS_PER_HEARTBEAT_TIMEOUT * reconcilePeriodSeconds,
    apiBudgetSeconds(maxConcurrentDrains),
  );
  if (h < HEARTBEAT_TIMEOUT_MIN_SECONDS || h > HEARTBEAT_TIMEOUT_MAX_SECONDS) {
    throw new RangeError(
      `HeartbeatTimeout ${h} s is outside ${HEARTBEAT_TIMEOUT_MIN_SECONDS}–${HEARTBEAT_TIMEOUT_MAX_SECONDS} s`,
    );
  }
  return h;
}

/** True when a lifecycle action can hold a drain of this length: the wait it needs fits the global timeout. */
export function drainFits(
  maxDrainSeconds: number,
  reconcilePeriodSeconds: number,
  maxConcurrentDrains = DEFAULT_MAX_CONCURRENT_DRAINS,
): boolean {
  const h = heartbeatTimeoutSeconds(maxDrainSeconds, reconcilePeriodSeconds, maxConcurrentDrains);
  return neededWaitSeconds(maxDrainSeconds, h) <= globalTimeoutSeconds(h);
}

/**
 * The longest maximum drain time (whole seconds) for a reconcile period: a little under 48 hours. A larger
 * H (a longer period, more concurrent drains) takes from it: the wait after the last heartbeat is one H, and
 * the 48 hours do not grow.
 */
export function maxDrainSeconds(
  reconcilePeriodSeconds: number,
  maxConcurrentDrains = DEFAULT_MAX_CONCURRENT_DRAINS,
): number {
  let low = 0;
  let high = MAX_DRAIN_TIME.toSeconds();
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (drainFits(middle, reconcilePeriodSeconds, maxConcurrentDrains)) low = middle;
    else high = middle - 1;
  }
  return low;
}
