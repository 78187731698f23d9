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
 * What a lifecycle action may have to wait beyond the drain itself (lambda/config.ts checks the same): the
 * delivery wait (SendCommand's TimeoutSeconds, after which the tick completes a drain SSM never delivered
 * to an agent that is not online as `unreachable`; SSM's own delivery timeout is TimeoutSeconds plus the
 * document's execution timeout, monitor-commands.html, but a command it delivers that late still stops at
 * the same deadline), the Lambda's grace before it completes an overdue drain as `expired`, and the adoption
 * delay before an adopted drain starts. On top of that comes up to H after the last heartbeat.
 */
export const LIFECYCLE_OVERHEAD_SECONDS =
  DELIVERY_TIMEOUT_SECONDS + DEFAULT_EXPIRY_GRACE_SECONDS + DEFAULT_ADOPTION_DELAY_SECONDS;

/** The longest the service lets a lifecycle action wait with heartbeats: min(48 h, 100 × H). */
export const globalTimeoutSeconds = (heartbeatSeconds: number): number =>
  Math.min(MAX_DRAIN_TIME.toSeconds(), 100 * heartbeatSeconds);

/** The longest wait a drain of `maxDrainSeconds` may need from its lifecycle action. */
export const neededWaitSeconds = (maxDrainSeconds: number, heartbeatSeconds: number): number =>
  maxDrainSeconds + LIFECYCLE_OVERHEAD_SECONDS + heartbeatSeconds;

/**
 * The H (seconds) that `maxConcurrentDrains` drains at once need from the Auto Scaling API budget: every
 * lifecycle action needs one call (its completion or a heartbeat) within H of its event, and at
 * PLANNED_AUTO_SCALING_CALLS_PER_SECOND those first calls may take a third of H (HEARTBEAT_TIMEOUT_HEADROOM).
 * 1,000 drains: 300 s; 10,000: 3,000 s.
 */
export const apiBudgetSeconds = (maxConcurrentDrains: number): number =>
  Math.ceil((HEARTBEAT_TIMEOUT_HEADROOM * maxConcurrentDrains) / PLANNED_AUTO_SCALING_CALLS_PER_SECOND);

/**
 * The smallest H (seconds) such that 100 × H covers the wait a drain may need (neededWaitSeconds), that is
 * at least four reconcile periods (the Lambda heartbeats from ticks and its slots leave room for one
 * lost tick), that gives `maxConcurrentDrains` drains at once their first Auto Scaling call within the
 * planned API budget (apiBudgetSeconds), and not below MIN_HEARTBEAT_TIMEOUT_SECONDS. Whether
 * min(48 h, 100 × H) covers it too is checked by the caller (see maxDrainSeconds).
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
 */
export function heartbeatTimeoutSeconds(
  maxDrainSeconds: number,
  reconcilePeriodSeconds: number,
  maxConcurrentDrains = DEFAULT_MAX_CONCURRENT_DRAINS,
): number {
  // 100 × H ≥ drain + overhead + H  ⇔  H ≥ (drain + overhead) / 99
  const covering = Math.ceil((maxDrainSeconds + LIFECYCLE_OVERHEAD_SECONDS) / 99);
  const h = Math.max(
    MIN_HEARTBEAT_TIMEOUT_SECONDS,
    covering,
    4 * reconcilePeriodSeconds,
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
