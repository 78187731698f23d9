// Input the agent once took silently and read otherwise than meant: each is refused (or fails its step) with a
// message naming the fix, against a real worker that the policy matches and that must get no signal.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, runAgent, Sandbox } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const drain = (policy: string, ...extra: string[]) =>
  runAgent(['drain', '--config', policy, '--id', 'input-1', '--state-dir', box.stateDir, ...extra]);

describe('refused before any process is touched', () => {
  it.each([
    [
      'a bare-number deadline (an epoch time, or seconds?)',
      ['--deadline', '1700000000'],
      /--deadline "1700000000" has no unit; give a duration with one \(90s, 10m, 2h\) or an ISO 8601 time/,
    ],
    [
      'a deadline past the 48 h a drain can last',
      ['--deadline', '100h'],
      /--deadline "100h" is more than 48h away, longer than a drain can last/,
    ],
    [
      'an ISO deadline past 48 h',
      ['--deadline', new Date(Date.now() + 49 * 3_600_000).toISOString()],
      /is more than 48h away/,
    ],
    ['a repeated --id', ['--id', 'input-2'], /--id is given 2 times; give it once/],
  ])('%s: exit 64, the worker untouched', async (_what, extra, message) => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({ version: 1, targets: [{ name: 'w', match: { cmdline: box.tag } }] });

    const run = await drain(policy, ...extra);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(message);
    expect(run.report).toMatchObject({ outcome: 'error', exitCode: 64 });
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(isAlive(worker.pid as number)).toBe(true);
  });

  it('a repeated --config: exit 64, neither policy runs', async () => {
    const worker = await box.start('ignores-term.mjs');
    const other = box.policy({
      version: 1,
      targets: [{ name: 'x', match: { cmdline: `${box.tag}-absent` } }],
    });
    const matching = box.policy({ version: 1, targets: [{ name: 'w', match: { cmdline: box.tag } }] });

    const run = await drain(other, '--config', matching);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/--config is given 2 times; give it once/);
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
  });

  it('a lone bare-number schedule "9" (signal 9, or 9 s?): exit 78 naming both readings', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: '9' }],
    });

    const run = await drain(policy);

    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(
      /targets\[0\]\.schedule: .*"9" alone is ambiguous: write 9s for TERM\/9s\/KILL\/9s, or a signal with a wait such as KILL\/5s/,
    );
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(isAlive(worker.pid as number)).toBe(true);
  });
});

it('touch creates no folder: the step fails naming the missing one, and the drain goes on', async () => {
  const worker = await box.start('graceful-worker.mjs');
  const marker = join(box.dir, 'no-such-app', 'no-dispatch');
  const policy = box.policy({
    version: 1,
    prepare: [{ touch: marker }],
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/5s/KILL/1s' }],
  });

  const run = await drain(policy);

  expect(run.report.prepare).toEqual([
    expect.objectContaining({
      ok: false,
      error: `ENOENT: no folder ${join(box.dir, 'no-such-app')} (a touch step creates no folders)`,
    }),
  ]);
  expect(existsSync(join(box.dir, 'no-such-app'))).toBe(false);
  expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
  expect(run.code).toBe(0);
});
