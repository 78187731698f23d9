// agent/README.md is the agent's reference: its CLI, exit codes, presets and limits are checked here
// against the constants the agent uses.

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { HELP } from '../../agent/cli/usage';
import { DEFAULT_STATE_DIR } from '../../agent/drain/drain-state';
import { GUARD_AFTER_DEADLINE_MS } from '../../agent/drain/guardian';
import { PSEUDO_ROOTS } from '../../agent/host/safe-fs';
import { POLICY_VERSION } from '../../agent/policy/policy';
import { DEFAULT_SCHEDULE, PRESETS } from '../../agent/policy/presets';
import { FINAL_KILL_WAIT_MS, MAX_WAIT_MS } from '../../agent/policy/schedule';
import { EXIT } from '../../agent/report/exit-codes';
import { AGENT_STDOUT_MAX_BYTES, SSM_STDOUT_MAX_BYTES } from '../../agent/report/report';
import { SUMMARY_PREFIX } from '../../agent/report/summary-line';
import { RELIST_INTERVAL_MS } from '../../agent/targets/supervised-target';
import { DROP_IN_NAME } from '../../agent/targets/systemd-target';
import { MIN_NODE_MAJOR, MIN_NODE_MINOR } from '../../lib/drain-document';
// @ts-expect-error: a plain .mjs script without types
import * as tables from '../../scripts/presets-table.mjs';
import { unwrap } from '../docs/markdown';

const { presetsTable, SPOT_DEADLINE_S, spotDeadlineTable, underDeadline } = tables;

const readme = readFileSync(new URL('../../agent/README.md', import.meta.url), 'utf8');
const text = unwrap(readme);
const n = (value: number) => value.toLocaleString('en-US');

it('carries the presets table generated from agent/policy/presets.ts', () => {
  expect(readme).toContain(presetsTable());
});

it('carries the table of what each preset does under a spot interruption deadline', () => {
  expect(readme).toContain('## Two minutes: what each preset does under a spot interruption deadline');
  expect(readme).toContain(spotDeadlineTable());
  expect(text).toContain(`the drain's deadline then falls ${SPOT_DEADLINE_S} s after the warning`);
});

it('every preset sends all its signals and ends by a spot interruption deadline', () => {
  const deadlineMs = SPOT_DEADLINE_S * 1000;
  for (const { schedule } of Object.values(PRESETS)) {
    const { signals, endMs } = underDeadline(schedule, deadlineMs);
    expect(signals.map(({ signal }: { signal: string }) => signal).join('/')).toBe(
      schedule.replace(/\/[^/]*\d[^/]*/g, ''),
    );
    expect(signals.at(-1).signal).toBe('KILL');
    expect(endMs).toBeLessThanOrEqual(deadlineMs);
  }
});

it('carries the usage the CLI prints', () => {
  const usage = /\nUsage:\n([\s\S]*?)\n\n/.exec(HELP)?.[1];
  expect(usage).toBeDefined();
  const lines = (usage ?? '').split('\n').map((line) => line.replace(/^ {2}/, ''));
  expect(readme).toContain(`## The CLI\n\n\`\`\`\n${lines.join('\n')}\n\`\`\``);
});

it('lists every exit code of agent/report/exit-codes.ts, and no other', () => {
  const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('## The drain policy'));
  const rows = [...section.matchAll(/^\| (\d+) \| `(\w+)` \|/gm)].map((match) => [
    match[2],
    Number(match[1]),
  ]);
  expect(Object.fromEntries(rows)).toEqual(EXIT);
  expect(rows.map(([, code]) => code)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
});

it('quotes the limits and defaults the agent uses', () => {
  expect(text).toContain(`SSM keeps stdout whole only under ${n(SSM_STDOUT_MAX_BYTES)} bytes`);
  expect(text).toContain(`the agent keeps all it prints under ${n(AGENT_STDOUT_MAX_BYTES)} bytes`);
  expect(text).toContain(`fit whole in the agent's ${n(AGENT_STDOUT_MAX_BYTES)} bytes`);
  expect(text).toContain(`\`${SUMMARY_PREFIX} outcome=<outcome> exit=<code> id=<drain id> joined=<0|1>\``);
  expect(text).toContain(`\`--state-dir\` defaults to \`${DEFAULT_STATE_DIR}\``);
  const roots = PSEUDO_ROOTS.map((root) => `\`${root}\``);
  expect(text).toContain(`${roots.slice(0, -1).join(', ')} or ${roots.at(-1)}`);
  expect(text).toContain(`is refused with exit ${EXIT.config}`);
  expect(text).toContain(`## The drain policy (config version ${POLICY_VERSION})`);
  expect(text).toContain(`followed by a ${FINAL_KILL_WAIT_MS / 1000} s wait for the kernel`);
  expect(text).toContain(`With neither \`schedule\` nor \`preset\`: \`${DEFAULT_SCHEDULE}\``);
  expect(text).toContain(`/${DROP_IN_NAME}\``);
  expect(text).toContain(`or ${GUARD_AFTER_DEADLINE_MS / 60_000} minutes past the deadline at the latest`);
  expect(text).toContain(`needs only \`node\` ≥ ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR}`);
  expect(text).toContain(`at most ${MAX_WAIT_MS / 3_600_000} h away`);
  expect(RELIST_INTERVAL_MS).toBe(1_000);
  expect(text).toContain('by listing them again every second');
});
