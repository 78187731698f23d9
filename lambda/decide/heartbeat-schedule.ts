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
//
// Phase: a scale-in starts thousands of actions in the same minute, and slots counted from the same start
// would put every heartbeat of the fleet into the same tick, all on the account's one Auto Scaling budget.
// Each running drain's slots are moved *earlier* by a phase φ drawn from its drain id (0 ≤ φ ≤ S − H/3): the
// first heartbeat comes sooner, so every bound above still holds, and the fleet's heartbeats spread over
// φ's range. A drain that has ended keeps its phase (unmoved slots after a lost tick could leave a gap of
// H + φ).
// Earlier heartbeats may cost a drain one more call: φ stays below what keeps a drain's calls within
// 2 + one per H/2 of its length (maxHeartbeatPhaseMs).
//
// A late start (a command sent near or after the first boundary, which the boundary's tick may not see)
// heartbeats at once; its drain's slots move START_LEAD_MS earlier again, so that heartbeat is its slot's,
// and the tick skips the slot the command was sent in.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html

/** EventBridge schedules fire on whole minutes; a tick's scheduled time is aligned to this grid. */
export const TICK_GRID_MS = 60_000;
/** How late after its scheduled time a tick's heartbeats may go out (fire delay, listings, fan-out). */
export const HEARTBEAT_MARGIN_MS = 120_000;
/**
 * A command sent less than this before its drain's first slot boundary may be missing from that tick's
 * listing (SSM's listings lag by seconds): its start heartbeats at once instead.
 */
export const START_LEAD_MS = 30_000;
/** The start decides with its own clock, the tick with SSM's request time: the start errs towards beating. */
const CLOCK_MARGIN_MS = 5000;

/** What the schedule needs of the configuration. */
export interface HeartbeatTiming {
  tickPeriodMs: number;
  heartbeatTimeoutMs: number;
}

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

/**
 * The largest phase. A fleet's first heartbeats come no earlier than H/3 after its scale-in (φ ≤ S − H/3):
 * the construct sizes H so that a scale-in of all the drains it plans for gets every completion within a
 * third of H (lib/heartbeat-timeout.ts), and while they take the account's Auto Scaling budget, the tick's
 * heartbeats would only queue behind them; after it, fewer drains still run, and the budget is the tick's.
 * At most S/2 as well, and no more than keeps a drain's Auto Scaling calls (its heartbeats and one
 * completion) within 2 + one per H/2 of its length D, for every D up to `longestDrainMs`: with slots moved
 * φ earlier a drain gets ⌊(D + φ)/S⌋ heartbeats; D < (k + 1)·H/2 allows k + 1 of them, so
 * φ ≤ (k + 2)·S − (k + 1)·H/2 for the largest k.
 */
export function maxHeartbeatPhaseMs(timing: HeartbeatTiming, longestDrainMs: number): number {
  const slotMs = heartbeatSlotMs(timing.tickPeriodMs, timing.heartbeatTimeoutMs);
  const halfMs = timing.heartbeatTimeoutMs / 2;
  const k = Math.floor(longestDrainMs / halfMs);
  const byBudget = (k + 2) * slotMs - (k + 1) * halfMs;
  const afterCompletionsMs = slotMs - timing.heartbeatTimeoutMs / 3;
  return Math.max(0, Math.floor(Math.min(slotMs / 2, afterCompletionsMs, byBudget)));
}

/** A drain's phase, from its id (FNV-1a): spread evenly over [0, max − START_LEAD_MS], the same on every tick. */
export function heartbeatPhaseMs(drainId: string, maxPhaseMs: number): number {
  const rangeMs = maxPhaseMs - START_LEAD_MS;
  if (rangeMs <= 0) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < drainId.length; index += 1) {
    hash ^= drainId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.floor((hash / 2 ** 32) * rangeMs);
}

/** The slot of a moment: slot k ≥ 1 begins at start + k·S − φ. */
function slotOf(momentMs: number, actionStartMs: number, slotMs: number, phaseMs: number): number {
  return Math.floor((momentMs - actionStartMs + phaseMs) / slotMs);
}

/** True when the (aligned) tick at `tickMs` is the first of a new slot for an action that started at `actionStartMs`. */
export function isHeartbeatDue(
  actionStartMs: number,
  tickMs: number,
  tickPeriodMs: number,
  heartbeatTimeoutMs: number,
  phaseMs = 0,
): boolean {
  const slotMs = heartbeatSlotMs(tickPeriodMs, heartbeatTimeoutMs);
  const slot = slotOf(tickMs, actionStartMs, slotMs, phaseMs);
  return slot >= 1 && slot > slotOf(tickMs - tickPeriodMs, actionStartMs, slotMs, phaseMs);
}

/**
 * True when whoever sends a drain command at `nowMs` must heartbeat at once: from START_LEAD_MS before the
 * drain's first slot boundary on, that boundary's tick may not list the command yet.
 */
export function isStartHeartbeatDue(
  actionStartMs: number,
  nowMs: number,
  tickPeriodMs: number,
  heartbeatTimeoutMs: number,
  phaseMs = 0,
): boolean {
  const firstBoundaryMs = heartbeatSlotMs(tickPeriodMs, heartbeatTimeoutMs) - phaseMs;
  return nowMs - actionStartMs > firstBoundaryMs - START_LEAD_MS - CLOCK_MARGIN_MS;
}

/** One drain as the tick sees it: when its action started, when its first command was sent, its phase. */
export interface DrainTiming {
  actionStartMs: number;
  requestedMs: number;
  phaseMs: number;
}

/**
 * True when the tick at `tickMs` heartbeats the drain. A command sent within START_LEAD_MS of the first
 * boundary, or after it, was heartbeated by its start: its slots move START_LEAD_MS earlier (so that
 * heartbeat lies in a slot), and the slot it was sent in is not beaten again.
 */
export function isDrainHeartbeatDue(drain: DrainTiming, tickMs: number, timing: HeartbeatTiming): boolean {
  const { tickPeriodMs, heartbeatTimeoutMs } = timing;
  const slotMs = heartbeatSlotMs(tickPeriodMs, heartbeatTimeoutMs);
  const startBeat = drain.requestedMs - drain.actionStartMs > slotMs - drain.phaseMs - START_LEAD_MS;
  const phaseMs = drain.phaseMs + (startBeat ? START_LEAD_MS : 0);
  if (!isHeartbeatDue(drain.actionStartMs, tickMs, tickPeriodMs, heartbeatTimeoutMs, phaseMs)) return false;
  return !(
    startBeat &&
    slotOf(tickMs, drain.actionStartMs, slotMs, phaseMs) ===
      slotOf(drain.requestedMs, drain.actionStartMs, slotMs, phaseMs)
  );
}
