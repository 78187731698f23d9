import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { presetsTable } from '../../scripts/presets-table.mjs';

it('the README carries the presets table generated from agent/policy/presets.ts', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  expect(readme).toContain(presetsTable());
});

it('the README starts with the two commands', () => {
  const top = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    .split('\n')
    .slice(0, 8)
    .join('\n');
  expect(top).toContain('npm ci && npm run drill');
  expect(top).toContain('npm test');
});
