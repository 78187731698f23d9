// When a drain's lifecycle action gets a heartbeat, derived only from when the action started and the tick's
// scheduled time: no stored state.
//
// The action's heartbeat timeout H runs from the lifecycle event, not from our command, so the slots are
// anchored at the action's start (deadline − max drain time, which the command carries; for an adopted drain
// the moment of adoption, when it is heartbeated at once). Time since then is cut into slots of
// S = (H − P − M) / 2 (P the tick period, M a margin for how late a tick's heartbeats go out after its
// scheduled time). A tick heartbeats a drain when it is the first tick in a new slot (the previous tick,
// one period earlier, fell in an earlier slot). So:
// - the first heartbeat comes before start + S + P + M < H;
// - two heartbeats are at most S + P + M apart;
// - when every attempt of one tick fails, the next tick is the first of the following slot: the gap is at
//   most 2S + P + M = H. A tick retried by Lambda carries the same scheduled time and may repeat its
//   heartbeats: harmless, and better than missing one.
// Ticks are aligned to EventBridge's one-minute granularity, not to the period: a `rate(5 minutes)` schedule
// fires on whole minutes, not on multiples of 5 minutes since the epoch.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html

/** EventBridge schedules fire on whole minutes; a tick's scheduled time is aligned to this grid. */
export const TICK_GRID_MS = 60_000;
/** How late after its scheduled time a tick's heartbeats may go out (fire delay, listings, fan-out). */
export const HEARTBEAT_MARGIN_MS = 120_000;

/** The tick's scheduled time on the one-minute grid (absorbs the seconds of a late firing). */
export function alignTick(tickMs: number, gridMs: number = TICK_GRID_MS): number {
  return tickMs - (((tickMs % gridMs) + gridMs) % gridMs);
}

/** The margin M: two minutes, less when H is so short that three periods leave less (H ≥ 4P, so M ≥ H/4). */
export function heartbeatMarginMs(tickPeriodMs: number, heartbeatTimeoutMs: number): number {
  return Math.min(HEARTBEAT_MARGIN_MS, heartbeatTimeoutMs - 3 * tickPeriodMs);
}

/** The slot length S = (H − P − M) / 2 (at least one period while P ≤ H/4). */
export function heartbeatSlotMs(tickPeriodMs: number, heartbeatTimeoutMs: number): number {
  return (heartbeatTimeoutMs - tickPeriodMs - heartbeatMarginMs(tickPeriodMs, heartbeatTimeoutMs)) / 2;
}

/** True when the (aligned) tick at `tickMs` should heartbeat a drain whose action started at `actionStartMs`. */
export function isHeartbeatDue(
  actionStartMs: number,
  tickMs: number,
  tickPeriodMs: number,
  heartbeatTimeoutMs: number,
): boolean {
  const slotMs = heartbeatSlotMs(tickPeriodMs, heartbeatTimeoutMs);
  const slot = Math.floor((tickMs - actionStartMs) / slotMs);
  const previousSlot = Math.floor((tickMs - tickPeriodMs - actionStartMs) / slotMs);
  return slot >= 1 && slot > previousSlot;
}

/**
 * True when whoever sends a drain command at `nowMs` must heartbeat at once: from half a slot on, the first
 * tick of the next slot may run before the command is visible in SSM's listings, and skip it.
 */
export function isStartHeartbeatDue(
  actionStartMs: number,
  nowMs: number,
  tickPeriodMs: number,
  heartbeatTimeoutMs: number,
): boolean {
  return nowMs - actionStartMs > heartbeatSlotMs(tickPeriodMs, heartbeatTimeoutMs) / 2;
}
