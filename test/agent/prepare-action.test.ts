// `drain --action prepare` (a rebalance recommendation): the prepare steps only, nothing signalled, outcome
// `prepared`; it leaves the host free for a later full drain with another id. Real processes.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, runAgent, Sandbox, startAgent, untilFileExists, waitForLog } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const drainArgs = (policy: string, id: string, ...extra: string[]) => box.drainArgs(policy, id, ...extra);

async function workerAndPolicy(prepare: unknown[] = []) {
  const worker = await box.start('graceful-worker.mjs');
  const marker = join(box.dir, 'run/app/no-dispatch');
  mkdirSync(join(box.dir, 'run/app'), { recursive: true });
  const policy = box.policy({
    version: 1,
    prepare: [{ touch: marker }, ...prepare],
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/5s/KILL/1s' }],
    finally: [{ run: ['touch', join(box.dir, 'finally-ran')] }],
  });
  return { worker, marker, policy };
}

describe('--action prepare', () => {
  it('runs only the prepare steps: no worker signalled, outcome prepared, exit 0', async () => {
    const { worker, marker, policy } = await workerAndPolicy();

    const run = await runAgent(
      drainArgs(policy, 'rebalance-i-0123456789abcdef0-20261206190000', '--action', 'prepare'),
    );

    expect(run.code).toBe(0);
    expect(run.summary).toMatch(/^fleet-drain v1 outcome=prepared exit=0 id=rebalance-/);
    expect(run.report).toMatchObject({ outcome: 'prepared', exitCode: 0, joined: false, targets: [] });
    expect(run.report.prepare).toEqual([expect.objectContaining({ ok: true })]);
    expect(run.report.finally).toEqual([]);
    expect(existsSync(marker)).toBe(true);
    expect(existsSync(join(box.dir, 'finally-ran'))).toBe(false);
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(isAlive(worker.pid as number)).toBe(true);
    expect(existsSync(join(box.stateDir, 'drain.lock'))).toBe(false);
  });

  it('a later full drain with another id runs in full instead of joining or replaying the prepare', async () => {
    const { worker, policy } = await workerAndPolicy();
    const prepared = await runAgent(drainArgs(policy, 'rebalance-1', '--action', 'prepare'));
    const replay = await runAgent(drainArgs(policy, 'rebalance-1', '--action', 'prepare'));

    const full = await runAgent(drainArgs(policy, 'spot-1'));

    expect(prepared.report.outcome).toBe('prepared');
    expect(replay.report).toEqual({ ...prepared.report, joined: true });
    expect(full.code).toBe(0);
    expect(full.report).toMatchObject({ id: 'spot-1', outcome: 'drained', joined: false });
    expect(full.report.joinedDrainId).toBeUndefined();
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(existsSync(join(box.dir, 'finally-ran'))).toBe(true);
  });

  it('a full drain that arrives while a prepare runs waits for it, then drains in full', async () => {
    // The prepare step lasts until the full drain has arrived and joined it.
    const release = join(box.dir, 'release-prepare');
    const { worker, policy } = await workerAndPolicy([
      { run: ['sh', '-c', untilFileExists(release)], timeout: '60s' },
    ]);
    const prepare = startAgent(drainArgs(policy, 'rebalance-1', '--action', 'prepare'));
    await box.waitFor(() => existsSync(join(box.stateDir, 'rebalance-1.json')));

    const arriving = startAgent(drainArgs(policy, 'lifecycle-1'));
    let stderr = '';
    arriving.child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    await waitForLog(() => stderr, 'a drain is already running: joining it');
    writeFileSync(release, '');
    const prepared = await prepare.done;
    const full = await arriving.done;

    expect(prepared.report.outcome).toBe('prepared');
    expect(prepared.report.prepare.map((step) => step.ok)).toEqual([true, true]);
    expect(full.stderr).toContain('"message":"a drain is already running: joining it"');
    expect(full.report).toMatchObject({ id: 'lifecycle-1', outcome: 'drained', joined: false });
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
  });

  it('refuses an unknown action with exit 64', async () => {
    const { worker, policy } = await workerAndPolicy();
    const run = await runAgent(drainArgs(policy, 'r-1', '--action', 'stop'));
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('--action "stop" is neither drain nor prepare');
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
  });
});
