// When a drain's lifecycle action gets a heartbeat, from the action's start and the tick's scheduled time
// alone. Slots of S = (H − P − M) / 2 count from the action's start; the first tick of each slot beats, so
// the gap stays below H even when one tick fails (the proof: lambda/README.md, "Reconcile tick"). Each
// drain's slots move earlier by a phase drawn from its id, so a scale-in's heartbeats spread over ticks.
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
 * The largest phase: at most S − H/3 (a scale-in's completions take the first third of H), S/2, and
 * (k + 2)·S − (k + 1)·H/2 for the longest drain (k its length in halves of H), which keeps a drain's Auto
 * Scaling calls within 2 + one per H/2 of its length.
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
  { tickPeriodMs, heartbeatTimeoutMs }: HeartbeatTiming,
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
  { tickPeriodMs, heartbeatTimeoutMs }: HeartbeatTiming,
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
  if (!isHeartbeatDue(drain.actionStartMs, tickMs, timing, phaseMs)) return false;
  return !(
    startBeat &&
    slotOf(tickMs, drain.actionStartMs, slotMs, phaseMs) ===
      slotOf(drain.requestedMs, drain.actionStartMs, slotMs, phaseMs)
  );
}
