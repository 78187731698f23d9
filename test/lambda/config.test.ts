// Configuration from the environment: defaults, bounds, cross-checks; invalid config makes no AWS call.

import { describe, expect, it } from 'vitest';
import {
  CONFIG_ENV_NAMES,
  DEFAULT_ADOPTION_DELAY_SECONDS,
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  DEFAULT_MAX_DRAIN_SECONDS,
  ENV_DOCUMENT_NAME,
  ENV_GROUP_NAMES,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_HOOK_NAME,
  ENV_MAX_DRAIN_SECONDS,
  ENV_RESULT_POLICY,
  ENV_TICK_PERIOD_SECONDS,
  parseConfig,
} from '../../lambda/config';
import { awsCallCount, ENV, lifecycleEvent, makeHandler, mockAws, tickEvent } from './helpers';

const MINIMAL = { [ENV_DOCUMENT_NAME]: 'FleetDrain', [ENV_GROUP_NAMES]: 'a,b', [ENV_HOOK_NAME]: 'drain' };

function errorsOf(env: Record<string, string>): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.errors;
}

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const result = parseConfig(MINIMAL);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      documentName: 'FleetDrain',
      hookName: 'drain',
      maxDrainMs: DEFAULT_MAX_DRAIN_SECONDS * 1000,
      heartbeatTimeoutMs: DEFAULT_HEARTBEAT_TIMEOUT_SECONDS * 1000,
      resultPolicy: 'CONTINUE',
      eventBusName: 'default',
      adoptionDelayMs: DEFAULT_ADOPTION_DELAY_SECONDS * 1000,
      tickPeriodMs: 60_000,
    });
    expect([...result.config.groupNames]).toEqual(['a', 'b']);
  });

  it('names every variable with the FLEET_DRAINER_ prefix', () => {
    for (const name of CONFIG_ENV_NAMES) expect(name).toMatch(/^FLEET_DRAINER_[A-Z_]+$/);
  });

  it.each([
    [{ [ENV_DOCUMENT_NAME]: '' }, /FLEET_DRAINER_DOCUMENT_NAME is required/],
    [{ [ENV_GROUP_NAMES]: '' }, /FLEET_DRAINER_GROUP_NAMES is required/],
    [{ [ENV_GROUP_NAMES]: 'a,,b' }, /empty name/],
    [{ [ENV_GROUP_NAMES]: 'a,b c' }, /invalid group name "b c"/],
    [{ [ENV_HOOK_NAME]: 'x;y' }, /FLEET_DRAINER_HOOK_NAME is not a valid name/],
    [
      { [ENV_MAX_DRAIN_SECONDS]: '1h' },
      /FLEET_DRAINER_MAX_DRAIN_SECONDS must be a whole number of seconds from 1 to 172800, got "1h"/,
    ],
    [{ [ENV_MAX_DRAIN_SECONDS]: '172801' }, /from 1 to 172800/],
    [{ [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '29' }, /from 30 to 7200/],
    [{ [ENV_RESULT_POLICY]: 'ABANDON' }, /CONTINUE or ABANDON_ON_FAILURE, got "ABANDON"/],
    // min(48 h, 100 × H): with H = 300 s an action lives at most 30,000 s, and the drain needs delivery
    // (120) + drain + expiry grace (300) + H (300) + adoption delay (45) of it.
    [
      { [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '300', [ENV_MAX_DRAIN_SECONDS]: '29236' },
      /at most min\(48 h, 100 × .*\) = 30000 s, got 30001 s/,
    ],
    [
      { [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '7200', [ENV_MAX_DRAIN_SECONDS]: '172800' },
      /= 172800 s, got 180465 s/,
    ],
    [{ [ENV_TICK_PERIOD_SECONDS]: '90' }, /whole number of minutes/],
    [{ FLEET_DRAINER_ADOPTION_DELAY_SECONDS: '121' }, /from 0 to 120/],
    [{ FLEET_DRAINER_UNREACHABLE_GRACE_SECONDS: '121' }, /from 0 to 120/],
    [{ [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '120' }, /at most a quarter/],
    [
      { FLEET_DRAINER_ADOPTION_DELAY_SECONDS: '10', FLEET_DRAINER_UNREACHABLE_GRACE_SECONDS: '20' },
      /FLEET_DRAINER_ADOPTION_DELAY_SECONDS must be at least FLEET_DRAINER_UNREACHABLE_GRACE_SECONDS/,
    ],
  ])('rejects %o', (override, message) => {
    const errors = errorsOf({ ...MINIMAL, ...override });
    expect(errors.join('\n')).toMatch(message);
  });

  it('accepts the boundaries', () => {
    expect(
      errorsOf({ ...MINIMAL, [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '7200', [ENV_MAX_DRAIN_SECONDS]: '165135' }),
    ).toEqual([]);
    expect(
      errorsOf({ ...MINIMAL, [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '300', [ENV_MAX_DRAIN_SECONDS]: '29235' }),
    ).toEqual([]);
    expect(
      errorsOf({ ...MINIMAL, [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '240', [ENV_TICK_PERIOD_SECONDS]: '60' }),
    ).toEqual([]);
  });

  it('reports every problem at once', () => {
    expect(errorsOf({ [ENV_RESULT_POLICY]: 'nope' })).toHaveLength(4);
  });
});

describe('handler with an invalid configuration', () => {
  it.each([lifecycleEvent(), tickEvent('2026-11-22T10:00:00Z')])(
    'logs a clear error and makes no AWS call',
    async (event) => {
      const aws = mockAws();
      const { handler, log } = makeHandler({ env: { ...ENV, [ENV_HOOK_NAME]: '' } });
      expect(await handler(event)).toEqual({ kind: 'config-error', result: 'ignored' });
      expect(awsCallCount(aws)).toBe(0);
      const error = log.entries.find((entry) => entry.level === 'error');
      expect(error?.message).toMatch(/INVALID CONFIGURATION/);
      expect(error?.keys?.errors).toEqual(['FLEET_DRAINER_HOOK_NAME is required']);
    },
  );
});
