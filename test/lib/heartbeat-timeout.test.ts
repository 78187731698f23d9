import { describe, expect, it } from 'vitest';
import {
  ENV_DOCUMENT_NAME,
  ENV_GROUP_NAMES,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_HOOK_NAME,
  ENV_MAX_DRAIN_SECONDS,
  ENV_TICK_PERIOD_SECONDS,
  parseConfig,
} from '../../lambda/config';
import {
  apiBudgetSeconds,
  DEFAULT_MAX_CONCURRENT_DRAINS,
  drainFits,
  globalTimeoutSeconds,
  HEARTBEAT_TIMEOUT_HEADROOM,
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  MAX_CONCURRENT_DRAINS,
  MIN_HEARTBEAT_TIMEOUT_SECONDS,
  maxDrainSeconds,
  neededWaitSeconds,
  PLANNED_AUTO_SCALING_CALLS_PER_SECOND,
} from '../../lib/index';

describe('heartbeatTimeoutSeconds', () => {
  it('never goes below the floor, even for short drains', () => {
    expect(heartbeatTimeoutSeconds(60, 60)).toBe(MIN_HEARTBEAT_TIMEOUT_SECONDS);
    expect(heartbeatTimeoutSeconds(3600, 60)).toBe(MIN_HEARTBEAT_TIMEOUT_SECONDS);
  });

  it('grows so that 100 × H covers the drain, the overhead and one more H', () => {
    const h = heartbeatTimeoutSeconds(40 * 3600, 60);
    expect(h).toBe(Math.ceil((144_000 + LIFECYCLE_OVERHEAD_SECONDS) / 99));
    expect(100 * h).toBeGreaterThanOrEqual(neededWaitSeconds(144_000, h));
    expect(100 * (h - 1)).toBeLessThan(neededWaitSeconds(144_000, h - 1));
  });

  it('is at least four reconcile periods, so a heartbeat always comes within H', () => {
    expect(heartbeatTimeoutSeconds(600, 600)).toBe(2400);
  });

  it('gives every concurrent drain its first Auto Scaling call within a third of H at 10 calls/s', () => {
    expect([HEARTBEAT_TIMEOUT_HEADROOM, PLANNED_AUTO_SCALING_CALLS_PER_SECOND]).toEqual([3, 10]);
    expect(apiBudgetSeconds(1000)).toBe(300);
    // 1,000 drains (the default) need 300 s: the 900 s floor wins.
    expect(heartbeatTimeoutSeconds(3600, 60)).toBe(
      heartbeatTimeoutSeconds(3600, 60, DEFAULT_MAX_CONCURRENT_DRAINS),
    );
    expect(heartbeatTimeoutSeconds(3600, 60, 1000)).toBe(900);
    expect(heartbeatTimeoutSeconds(3600, 60, 10_000)).toBe(3000);
    expect(heartbeatTimeoutSeconds(3600, 60, 10_001)).toBe(3001);
    expect(heartbeatTimeoutSeconds(3600, 60, MAX_CONCURRENT_DRAINS)).toBe(7200);
  });

  it('refuses more concurrent drains than the largest HeartbeatTimeout (7200 s) can give their budget', () => {
    expect(MAX_CONCURRENT_DRAINS).toBe(24_000);
    expect(() => heartbeatTimeoutSeconds(3600, 60, MAX_CONCURRENT_DRAINS + 1)).toThrow(RangeError);
  });
});

describe('maxDrainSeconds', () => {
  it('is a little under 48 hours: the longest wait that still fits min(48 h, 100 × H)', () => {
    const longest = maxDrainSeconds(60);
    const h = heartbeatTimeoutSeconds(longest, 60);
    expect(neededWaitSeconds(longest, h)).toBeLessThanOrEqual(globalTimeoutSeconds(h));
    const over = heartbeatTimeoutSeconds(longest + 1, 60);
    expect(neededWaitSeconds(longest + 1, over)).toBeGreaterThan(globalTimeoutSeconds(over));
    expect(longest).toBeGreaterThan(47 * 3600);
  });

  it('shrinks by what a larger H adds to the wait after the last heartbeat (the 48 hours do not grow)', () => {
    const longest = maxDrainSeconds(60);
    const h = heartbeatTimeoutSeconds(longest, 60);
    for (const drains of [10_000, MAX_CONCURRENT_DRAINS]) {
      const bigger = heartbeatTimeoutSeconds(0, 60, drains);
      expect(maxDrainSeconds(60, drains)).toBe(longest - (bigger - h));
      expect(drainFits(maxDrainSeconds(60, drains), 60, drains)).toBe(true);
      expect(drainFits(maxDrainSeconds(60, drains) + 1, 60, drains)).toBe(false);
    }
    expect(maxDrainSeconds(60, DEFAULT_MAX_CONCURRENT_DRAINS)).toBe(longest);
  });
});

describe("the drainer Lambda's own configuration check", () => {
  it.each([
    [60, 1000],
    [300, 1000],
    [1800, 1000],
    [60, 10_000],
    [60, MAX_CONCURRENT_DRAINS],
  ])(
    'accepts every maximum drain time the construct allows (reconcile %i s, %i drains at once)',
    (tick, drains) => {
      for (let drain = 60; drain <= maxDrainSeconds(tick, drains); drain += 997) {
        for (const maxDrain of [drain, maxDrainSeconds(tick, drains)]) {
          const h = heartbeatTimeoutSeconds(maxDrain, tick, drains);
          const result = parseConfig({
            [ENV_DOCUMENT_NAME]: 'FleetDrain-Test',
            [ENV_GROUP_NAMES]: 'web',
            [ENV_HOOK_NAME]: 'fleet-drainer',
            [ENV_MAX_DRAIN_SECONDS]: String(maxDrain),
            [ENV_HEARTBEAT_TIMEOUT_SECONDS]: String(h),
            [ENV_TICK_PERIOD_SECONDS]: String(tick),
          });
          expect(result, `drain ${maxDrain} s, H ${h} s`).toMatchObject({ ok: true });
        }
      }
    },
  );
});
