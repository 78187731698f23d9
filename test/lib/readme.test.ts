// The deploy guide is written from the code: the presets table and the defaults it quotes.

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  DEFAULT_HOOK_NAME_PREFIX,
  DEFAULT_MAX_DRAIN_TIME,
  DEFAULT_RECONCILE_PERIOD,
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  MIN_HEARTBEAT_TIMEOUT_SECONDS,
  maxDrainSeconds,
} from '../../lib/index';
// @ts-expect-error: a plain .mjs script without types
import { presetsTable } from '../../scripts/presets-table.mjs';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

it('carries the presets table generated from agent/policy/presets.ts', () => {
  expect(readme).toContain(presetsTable());
});

it('quotes the defaults the construct uses', () => {
  expect(readme).toContain(`| \`maxDrainTime\` | ${DEFAULT_MAX_DRAIN_TIME.toHumanString()} |`);
  expect(readme).toContain(`| \`reconcilePeriod\` | ${DEFAULT_RECONCILE_PERIOD.toHumanString()} |`);
  expect(readme).toContain(`| \`hookName\` | \`${DEFAULT_HOOK_NAME_PREFIX}-<the drainer's unique name>\` |`);
  expect(readme).toContain(`never below **${MIN_HEARTBEAT_TIMEOUT_SECONDS} s**`);
  expect(readme).toContain(
    `1 hour H = ${heartbeatTimeoutSeconds(3600, 60)} s; for 40 hours\n  H = ${heartbeatTimeoutSeconds(144_000, 60)} s`,
  );
  const longest = maxDrainSeconds(60);
  expect(readme).toContain(`the longest drain, ${longest.toLocaleString('en-US')} s`);
  expect(readme).toContain(`gets H = ${heartbeatTimeoutSeconds(longest, 60)} s`);
  expect(readme).toContain(`H ≥ (drain + ${LIFECYCLE_OVERHEAD_SECONDS} s) / 99`);
  expect(readme).toContain(`\`maxDrainTime\` must be at most 1 day 23 hours (${longest} s)`);
});
