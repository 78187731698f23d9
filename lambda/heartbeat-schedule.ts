// When the reconciler heartbeats a drain, derived only from the command's requested time and the tick's
// scheduled time: no stored state.
//
// Time since the command was requested is cut into slots of H/2. A tick heartbeats a drain when it is the
// first tick in a new slot: the previous tick of a regular schedule (one period earlier) fell in an earlier
// slot. So a drain gets exactly one heartbeat per H/2 while ticks arrive on schedule, and the gap between
// two heartbeats is at most H/2 + one period (< H, enforced by config). A tick retried by Lambda after a
// failure carries the same scheduled time and may repeat the heartbeats of that tick: harmless, and better
// than missing one.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html

/** The tick's scheduled time on the grid of the schedule's period (absorbs a few seconds of jitter). */
export function alignTick(tickMs: number, tickPeriodMs: number): number {
  return tickMs - (((tickMs % tickPeriodMs) + tickPeriodMs) % tickPeriodMs);
}

/** True when the (aligned) tick at `tickMs` should heartbeat a drain whose command was requested at `requestedMs`. */
export function isHeartbeatDue(
  requestedMs: number,
  tickMs: number,
  tickPeriodMs: number,
  heartbeatTimeoutMs: number,
): boolean {
  const slotMs = heartbeatTimeoutMs / 2;
  const slot = Math.floor((tickMs - requestedMs) / slotMs);
  const previousSlot = Math.floor((tickMs - tickPeriodMs - requestedMs) / slotMs);
  return slot >= 1 && slot > previousSlot;
}
