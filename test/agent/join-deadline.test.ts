// A drain that joins a running one with an earlier deadline (a spot interruption arriving during a lifecycle
// drain) moves the running drain's deadline to its own; a later deadline never lengthens it. Real processes;
// times are checked against the recorded timestamps and the deadlines, never against wall-clock bounds.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DrainReport } from '../../agent/report/report.js';
import { runAgent, Sandbox, startAgent, waitForLog } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const drainArgs = (policy: string, id: string, deadline: Date) =>
  box.drainArgs(policy, id, '--deadline', deadline.toISOString());

const inMs = (ms: number) => new Date(Date.now() + ms);
const readState = (id: string) => JSON.parse(readFileSync(join(box.stateDir, `${id}.json`), 'utf8'));
const stateDeadline = (id: string): string | undefined => {
  try {
    return readState(id).deadline;
  } catch {
    return undefined; // not written yet
  }
};

/** A worker that ignores TERM, under a schedule that would wait ten minutes before KILL. */
async function longDrain() {
  const worker = await box.start('ignores-term.mjs');
  const policy = box.policy({
    version: 1,
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/10m/KILL/1s' }],
  });
  return { worker, policy };
}

/** When (epoch ms) the report's only process got KILL. */
function killTime(report: DrainReport): number {
  const signals = report.targets[0]?.processes[0]?.signals ?? [];
  expect(signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
  return Date.parse(report.startedAt) + (signals[1]?.[1] as number);
}

describe('joining with another deadline', () => {
  it('an earlier deadline moves the running drain: it KILLs by the new deadline, and no signal twice', async () => {
    const { worker, policy } = await longDrain();
    const owner = startAgent(drainArgs(policy, 'lifecycle-1', inMs(600_000)));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);

    const spotDeadline = inMs(10_000);
    const joiner = await runAgent(drainArgs(policy, 'spot-i-0123456789abcdef0-20261206190000', spotDeadline));
    const first = await owner.done;

    expect(first.code).toBe(3);
    expect(first.report.deadline).toBe(spotDeadline.toISOString());
    expect(killTime(first.report)).toBeLessThanOrEqual(spotDeadline.getTime());
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(first.stderr).toContain('"message":"the deadline moved earlier');
    expect(joiner.stderr).toContain('"message":"handed the running drain an earlier deadline"');
    expect(joiner.code).toBe(first.code);
    expect(joiner.report).toMatchObject({
      id: 'spot-i-0123456789abcdef0-20261206190000',
      joined: true,
      joinedDrainId: 'lifecycle-1',
      deadline: spotDeadline.toISOString(),
    });
    expect(joiner.report.targets).toEqual(first.report.targets);
  });

  it('an earlier deadline ends a prepare command that is running, and the schedule still fits', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      prepare: [{ run: ['sleep', '60'], timeout: '10m' }],
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/10m/KILL/1s' }],
    });
    const owner = startAgent(drainArgs(policy, 'lifecycle-1', inMs(600_000)));
    await box.waitFor(() => stateDeadline('lifecycle-1') !== undefined);

    const spotDeadline = inMs(10_000);
    await runAgent(drainArgs(policy, 'spot-1', spotDeadline));
    const first = await owner.done;

    expect(first.report.prepare[0]).toMatchObject({ ok: false, error: expect.stringMatching(/timed out/) });
    expect(first.code).toBe(3);
    expect(killTime(first.report)).toBeLessThanOrEqual(spotDeadline.getTime());
    expect(box.signalsOf(worker.pid as number).length).toBeLessThanOrEqual(1);
  });

  it('a later deadline does not lengthen the running drain', async () => {
    const { worker, policy } = await longDrain();
    const ownDeadline = inMs(10_000);
    const owner = startAgent(drainArgs(policy, 'lifecycle-1', ownDeadline));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);

    const joiner = await runAgent(drainArgs(policy, 'lifecycle-2', inMs(600_000)));
    const first = await owner.done;

    expect(first.report.deadline).toBe(ownDeadline.toISOString());
    expect(joiner.report.deadline).toBe(ownDeadline.toISOString());
    expect(killTime(first.report)).toBeLessThanOrEqual(ownDeadline.getTime());
    expect(existsSync(join(box.stateDir, 'lifecycle-1.deadline'))).toBe(false);
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
  });

  it('keeps the earliest deadline across several joins and a restart of the owner from its state', async () => {
    const { worker, policy } = await longDrain();
    const ownDeadline = inMs(600_000);
    const owner = startAgent(drainArgs(policy, 'owner-1', ownDeadline));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);

    // Two joiners, the second one later than the first: the owner keeps the first one's.
    const earliest = inMs(12_000);
    for (const [id, deadline] of [
      ['joiner-1', earliest],
      ['joiner-2', inMs(60_000)],
    ] as const) {
      const joiner = startAgent(drainArgs(policy, id, deadline));
      let stderr = '';
      joiner.child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      // The hand-over follows the join's log line at once, before the joiner first waits.
      await waitForLog(() => stderr, 'a drain is already running: joining it');
      await box.waitFor(() => stateDeadline('owner-1') === earliest.toISOString());
      joiner.child.kill('SIGTERM');
      expect((await joiner.done).report.outcome).toBe('interrupted');
    }
    expect(stateDeadline('owner-1')).toBe(earliest.toISOString());

    // The owner's agent dies; run again with its own (later) deadline, it resumes with the earliest.
    owner.child.kill('SIGKILL');
    await owner.done;
    const resumed = await runAgent(drainArgs(policy, 'owner-1', ownDeadline));

    expect(resumed.code).toBe(3);
    expect(resumed.report.deadline).toBe(earliest.toISOString());
    expect(killTime(resumed.report)).toBeLessThanOrEqual(earliest.getTime());
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
  });
});
