// Stateless heartbeat schedule: no gap the action could time out in — counted from the lifecycle event (not
// from our command), with irregular firing, late starts, and one tick lost for good.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alignTick,
  heartbeatMarginMs,
  heartbeatPhaseMs,
  heartbeatSlotMs,
  isDrainHeartbeatDue,
  isHeartbeatDue,
  isStartHeartbeatDue,
  maxHeartbeatPhaseMs,
  START_LEAD_MS,
} from '../../lambda/decide/heartbeat-schedule';

const MINUTE = 60_000;

/**
 * Simulates one drain: the action starts at `eventMs` (its timer runs from there), the start sends the
 * command `sendDelayMs` later (heartbeating at once when isStartHeartbeatDue says so), and a schedule of
 * period P fires on whole minutes, each tick's heartbeats going out `delays[k]` after its scheduled time
 * (< the margin). A tick lists the command only `lagMs` (< START_LEAD_MS) after it was sent. Tick `lost`
 * fails for good. The drain's slots are moved `phaseMs` earlier. Returns every moment the action's timer
 * restarts, the event first.
 */
function simulate(
  hMs: number,
  periodMs: number,
  eventMs: number,
  sendDelayMs: number,
  phaseMinutes: number,
  delays: number[],
  lost: number,
  phaseMs = 0,
  lagMs = 0,
): number[] {
  const restarts = [eventMs];
  const sentMs = eventMs + sendDelayMs;
  if (isStartHeartbeatDue(eventMs, sentMs, { tickPeriodMs: periodMs, heartbeatTimeoutMs: hMs }, phaseMs))
    restarts.push(sentMs);
  const timing = { tickPeriodMs: periodMs, heartbeatTimeoutMs: hMs };
  const drain = { actionStartMs: eventMs, requestedMs: sentMs, phaseMs };
  const firstTick = alignTick(eventMs) + phaseMinutes * MINUTE - periodMs;
  for (let k = 0, tick = firstTick; tick < eventMs + 5 * hMs; k += 1, tick += periodMs) {
    if (k === lost) continue;
    // The event's `time` may carry seconds; the drainer aligns it to the minute.
    const aligned = alignTick(tick + ((delays[k % delays.length] ?? 0) % MINUTE));
    if (tick >= sentMs + lagMs && isDrainHeartbeatDue(drain, aligned, timing)) {
      restarts.push(tick + (delays[k % delays.length] ?? 0));
    }
  }
  return restarts.sort((a, b) => a - b);
}

describe('heartbeat schedule', () => {
  it('never lets H pass without a heartbeat: anchored at the event, late starts, irregular ticks, one tick lost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 240, max: 7200 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 10 * 24 * 3600 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 59 }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: -1, max: 40 }),
        (hSeconds, periodMinutesWanted, eventSeconds, sendFraction, phase, delayFractions, lost) => {
          const hMs = hSeconds * 1000;
          const periodMs = Math.min(periodMinutesWanted, Math.floor(hSeconds / 4 / 60)) * MINUTE;
          const marginMs = heartbeatMarginMs(periodMs, hMs);
          const delays = delayFractions.map((fraction) => Math.floor(fraction * marginMs));
          // The start may be late by up to half of H (Lambda retries, a slow first attempt).
          const sendDelayMs = Math.floor((sendFraction / 1_000_000) * (hMs / 2));
          const restarts = simulate(
            hMs,
            periodMs,
            eventSeconds * 1000,
            sendDelayMs,
            phase % (periodMs / MINUTE),
            delays,
            lost,
          );
          for (let index = 1; index < restarts.length; index += 1) {
            expect((restarts[index] as number) - (restarts[index - 1] as number)).toBeLessThan(hMs);
          }
          expect(restarts.length).toBeGreaterThanOrEqual(5);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps every bound with a phase and a listing lag, late starts and one tick lost', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 240, max: 7200 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 10 * 24 * 3600 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.integer({ min: 0, max: START_LEAD_MS - 1 }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: -1, max: 40 }),
        (
          hSeconds,
          periodMinutesWanted,
          eventSeconds,
          sendFraction,
          phaseFraction,
          lagMs,
          delayFractions,
          lost,
        ) => {
          const hMs = hSeconds * 1000;
          const periodMs = Math.min(periodMinutesWanted, Math.floor(hSeconds / 4 / 60)) * MINUTE;
          const marginMs = heartbeatMarginMs(periodMs, hMs);
          const delays = delayFractions.map((fraction) => Math.floor(fraction * marginMs));
          const sendDelayMs = Math.floor(sendFraction * (hMs / 2));
          const maxPhaseMs = Math.max(0, heartbeatSlotMs(periodMs, hMs) - MINUTE);
          const phaseMs = Math.floor(phaseFraction * Math.max(0, maxPhaseMs - START_LEAD_MS));
          const restarts = simulate(
            hMs,
            periodMs,
            eventSeconds * 1000,
            sendDelayMs,
            0,
            delays,
            lost,
            phaseMs,
            lagMs,
          );
          for (let index = 1; index < restarts.length; index += 1) {
            expect((restarts[index] as number) - (restarts[index - 1] as number)).toBeLessThan(hMs);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('keeps a drain of any length within 2 + one call per H/2 when its phase stays under the budget bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 900, max: 7200 }),
        fc.integer({ min: 60, max: 4 * 3600 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (hSeconds, longestSeconds, drainId) => {
          const hMs = hSeconds * 1000;
          const timing = { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs };
          const longestMs = longestSeconds * 1000;
          const maxPhaseMs = maxHeartbeatPhaseMs(timing, longestMs);
          const phaseMs = heartbeatPhaseMs(drainId, maxPhaseMs);
          expect(phaseMs).toBeGreaterThanOrEqual(0);
          expect(phaseMs).toBeLessThanOrEqual(Math.max(0, maxPhaseMs - START_LEAD_MS));
          if (maxPhaseMs === 0) return;
          // Heartbeats of a drain sent at once, then completed after D (every D up to the longest).
          const drain = { actionStartMs: 0, requestedMs: 1000, phaseMs };
          let beats = 0;
          for (let tick = MINUTE; tick <= longestMs; tick += MINUTE) {
            if (isDrainHeartbeatDue(drain, tick, timing)) beats += 1;
            expect(beats + 1).toBeLessThanOrEqual(2 + Math.floor(tick / (hMs / 2)));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a command sent just before its first boundary is beaten by its start, not again by that boundary’s tick', () => {
    const hMs = 3000_000;
    const timing = { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs };
    const slotMs = heartbeatSlotMs(MINUTE, hMs); // 1410 s
    const sentMs = slotMs - 10_000;
    expect(isStartHeartbeatDue(0, sentMs, { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs })).toBe(true);
    const drain = { actionStartMs: 0, requestedMs: sentMs, phaseMs: 0 };
    const beats: number[] = [];
    for (let tick = MINUTE; tick < 2 * hMs; tick += MINUTE)
      if (isDrainHeartbeatDue(drain, tick, timing)) beats.push(tick);
    // The next beat is one slot after the start's (slots moved START_LEAD_MS earlier), and every gap is < H.
    expect(beats[0]).toBe(Math.ceil((2 * slotMs - START_LEAD_MS) / MINUTE) * MINUTE);
    expect((beats[0] as number) - sentMs).toBeLessThan(hMs);
  });

  it('spreads the phases of many drains evenly', () => {
    const counts = new Array(10).fill(0) as number[];
    for (let index = 0; index < 10_000; index += 1) {
      const phaseMs = heartbeatPhaseMs(
        `${index.toString(16).padStart(8, '0')}-4321-4321-4321-210987654321`,
        1_030_000,
      );
      counts[Math.floor(phaseMs / 100_000)] = (counts[Math.floor(phaseMs / 100_000)] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('the worst case holds: H = 240 s, P = 60 s, start sent 100 s late, one tick lost', () => {
    const restarts = simulate(240_000, MINUTE, 0, 100_000, 0, [59_000], 4);
    for (let index = 1; index < restarts.length; index += 1) {
      expect((restarts[index] as number) - (restarts[index - 1] as number)).toBeLessThan(240_000);
    }
  });

  it('beats at most once per slot on a regular schedule', () => {
    const hMs = 3600_000;
    const slotMs = heartbeatSlotMs(MINUTE, hMs);
    expect(slotMs).toBe((3600_000 - 60_000 - 120_000) / 2);
    const beats: number[] = [];
    for (let tick = 0; tick < 4 * hMs; tick += MINUTE) {
      if (isHeartbeatDue(0, tick, { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs })) beats.push(tick);
    }
    const slots = beats.map((beat) => Math.floor(beat / slotMs));
    expect(new Set(slots).size).toBe(slots.length);
    expect(beats[0]).toBe(Math.ceil(slotMs / MINUTE) * MINUTE);
  });

  it('counts from the action’s start, not from the command: a drain sent late is beaten at the first slot', () => {
    // Slots counted from the command's request would first beat at d + H/2 + P, past the action's H.
    const hMs = 600_000;
    const slotMs = heartbeatSlotMs(MINUTE, hMs); // 210 s
    expect(isHeartbeatDue(0, 240_000, { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs })).toBe(true);
    expect(isHeartbeatDue(0, 180_000, { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs })).toBe(false);
    // Only a command sent close to the first boundary (or after it) heartbeats at once.
    expect(
      isStartHeartbeatDue(0, slotMs - START_LEAD_MS, { tickPeriodMs: MINUTE, heartbeatTimeoutMs: hMs }),
    ).toBe(true);
    expect(
      isStartHeartbeatDue(0, slotMs - START_LEAD_MS - 10_000, {
        tickPeriodMs: MINUTE,
        heartbeatTimeoutMs: hMs,
      }),
    ).toBe(false);
  });

  it('aligns a tick to the minute, whatever the period (a rate(5 minutes) rule fires on any minute)', () => {
    expect(alignTick(Date.parse('2026-11-22T10:01:02.500Z'))).toBe(Date.parse('2026-11-22T10:01:00Z'));
  });
});
