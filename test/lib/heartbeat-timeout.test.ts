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
  globalTimeoutSeconds,
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  MIN_HEARTBEAT_TIMEOUT_SECONDS,
  maxDrainSeconds,
  neededWaitSeconds,
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
});

describe("the drainer Lambda's own configuration check", () => {
  it.each([60, 300, 1800])(
    'accepts every maximum drain time the construct allows (reconcile %i s)',
    (tick) => {
      for (let drain = 60; drain <= maxDrainSeconds(tick); drain += 997) {
        for (const maxDrain of [drain, maxDrainSeconds(tick)]) {
          const h = heartbeatTimeoutSeconds(maxDrain, tick);
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
