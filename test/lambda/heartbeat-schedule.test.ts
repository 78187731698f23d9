// Stateless heartbeat schedule: at most once per H/2, and never a gap the action could time out in.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignTick, isHeartbeatDue } from '../../lambda/heartbeat-schedule';

const PERIOD_MS = 60_000;

describe('isHeartbeatDue over a regular schedule', () => {
  it('beats once per H/2 slot, with gaps of at most H/2 + one period, for any start and H', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 240, max: 7200 }),
        fc.integer({ min: 0, max: 10 * 24 * 3600_000 }),
        fc.integer({ min: 0, max: PERIOD_MS - 1 }),
        (hSeconds, requestedMs, phaseMs) => {
          const hMs = hSeconds * 1000;
          const beats: number[] = [];
          const firstTick = requestedMs - (requestedMs % PERIOD_MS) + phaseMs;
          for (let tick = firstTick; tick < requestedMs + 6 * hMs; tick += PERIOD_MS) {
            const aligned = alignTick(tick, PERIOD_MS);
            if (isHeartbeatDue(requestedMs, aligned, PERIOD_MS, hMs)) beats.push(aligned);
          }
          const slots = beats.map((beat) => Math.floor((beat - requestedMs) / (hMs / 2)));
          expect(new Set(slots).size).toBe(slots.length);
          // The action started about when the command was requested: first beat well before H.
          expect((beats[0] ?? Number.POSITIVE_INFINITY) - requestedMs).toBeLessThan(hMs);
          for (let index = 1; index < beats.length; index += 1) {
            expect((beats[index] as number) - (beats[index - 1] as number)).toBeLessThanOrEqual(
              hMs / 2 + PERIOD_MS,
            );
          }
          expect(beats.length).toBeGreaterThanOrEqual(10);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never beats in the first H/2', () => {
    expect(isHeartbeatDue(0, 0, PERIOD_MS, 600_000)).toBe(false);
    expect(isHeartbeatDue(0, 60_000, PERIOD_MS, 600_000)).toBe(false);
    expect(isHeartbeatDue(0, 300_000, PERIOD_MS, 600_000)).toBe(true);
    expect(isHeartbeatDue(0, 360_000, PERIOD_MS, 600_000)).toBe(false);
  });

  it('aligns a tick to its period', () => {
    expect(alignTick(Date.parse('2026-11-22T10:01:02.500Z'), PERIOD_MS)).toBe(
      Date.parse('2026-11-22T10:01:00Z'),
    );
  });
});
