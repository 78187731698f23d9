// The front page stays short and points to the references beside the code; the lists the other READMEs
// give (scenarios, environment variables) are the code's.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CONFIG_ENV_NAMES } from '../../lambda/config';
import { SPOT_NOTICE_S, SPOT_REPORT_MARGIN_S } from '../../lambda/decide/drain-command';
import { DRAIN_TRIGGERS } from '../../lambda/telemetry-names';
import { DEFAULT_MAX_DRAIN_TIME } from '../../lib/defaults';
// @ts-expect-error: a plain .mjs script without types
import { presetsTable } from '../../scripts/presets-table.mjs';
import { SCENARIO_NAMES } from '../../twin/scenarios';
import { markdownFiles, ROOT } from './markdown';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const readme = read('README.md');

it('README.md starts with the two commands and stays within a few screens', () => {
  const top = readme.split('\n').slice(0, 8).join('\n');
  expect(top).toContain('npm ci && npm run drill');
  expect(top).toContain('npm test');
  expect(readme.split('\n').length).toBeLessThanOrEqual(250);
});

it('README.md draws the flow, from the lifecycle hook to CONTINUE', () => {
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  for (const step of [
    'terminate lifecycle hook',
    'EventBridge rule',
    'SQS lifecycle queue',
    'drainer Lambda',
    'SSM Run Command',
    'drain agent',
    'command status event',
    'CompleteLifecycleAction CONTINUE',
    'RecordLifecycleActionHeartbeat',
    'reconcile tick',
  ]) {
    expect(diagram).toContain(step);
  }
});

it("README.md tables every trigger, and how long a Spot drain gets from the Lambda's constants", () => {
  const rows = [...readme.matchAll(/^\| `([\w-]+)` \|/gm)].map((match) => match[1]);
  expect(rows).toEqual([...DRAIN_TRIGGERS]);
  expect(readme).toContain(
    `| ${SPOT_NOTICE_S - SPOT_REPORT_MARGIN_S} s (${SPOT_NOTICE_S} s less ${SPOT_REPORT_MARGIN_S} s for the report) |`,
  );
  expect(readme).toContain(`up to \`maxDrainTime\` (default ${DEFAULT_MAX_DRAIN_TIME.toHumanString()})`);
});

it('README.md links to the references instead of repeating them', () => {
  for (const reference of [
    'lib/README.md',
    'agent/README.md',
    'lambda/README.md',
    'twin/README.md',
    'bench/README.md',
  ]) {
    expect(readme).toContain(`](${reference}`);
  }
  expect(readme).not.toContain(presetsTable().split('\n')[2]);
  expect(readme).not.toContain('| prop | default |');
  expect(readme).not.toMatch(/^\| exit \|/m);
});

it('twin/README.md tables every scenario of twin/scenarios.ts, and no other', () => {
  const twin = read('twin/README.md');
  const start = twin.indexOf('| scenario | fault | expected |');
  const section = twin.slice(start, twin.indexOf('\n\n', start));
  const rows = [...section.matchAll(/^\| `([\w-]+)` \|/gm)].map((match) => match[1]);
  expect([...rows].sort()).toEqual([...SCENARIO_NAMES].sort());
});

it('lambda/README.md lists every environment variable lambda/config.ts reads, and no other', () => {
  const lambda = read('lambda/README.md');
  const listed = new Set([...lambda.matchAll(/^\| `(FLEET_DRAINER_\w+)`/gm)].map((match) => match[1]));
  expect(listed).toEqual(new Set(CONFIG_ENV_NAMES));
});

it('the docs name no internal tools and tell no history', () => {
  for (const file of markdownFiles()) {
    const text = read(file);
    expect(text, file).not.toMatch(/farm-(bench|studio)/i);
    expect(text, file).not.toMatch(/\bDESIGN\.md\b|\bissue #?\d+\b|\bthe review\b|\bbefore this stop\b/i);
  }
});
