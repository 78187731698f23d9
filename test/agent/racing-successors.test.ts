// Successors of a killed agent that race for its drain, run many times with the agent held at the critical
// points of taking the lock over (FLEET_DRAIN_TEST_PAUSE, agent/host/test-pauses.ts): whatever the
// interleaving, one of them drains, the others join it, the orphan's progress is handed over (no worker gets
// a second graceful signal) and the finally steps run once.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRun, runAgent, Sandbox, startAgent, untilFileExists, waitForLog } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const finallyRuns = () => box.records().filter((r) => (r.event as string) === 'finally').length;
const release = () => join(box.dir, 'release-finally');

function drainPolicy(): string {
  return box.policy({
    version: 1,
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/800ms/KILL/2s' }],
    // The finally step holds the drain until the test releases it, once a racer joined a live one: a successor
    // started later, on a loaded machine, still finds it running (after it, another id would drain afresh).
    finally: [
      { run: ['sh', '-c', `echo '{"event":"finally"}' >> ${box.log}; ${untilFileExists(release())}`] },
    ],
  });
}

/** The pids of the owners that the agents logging `stderr` joined. */
const joinedOwners = (stderr: string): number[] =>
  stderr
    .split('\n')
    .slice(0, -1) // whole lines only
    .filter((line) => line.includes('"message":"a drain is already running: joining it"'))
    .map((line) => JSON.parse(line).ownerPid as number);

/** Releases the finally step once one of `racers` joined the drain another of them runs. */
async function releaseOnceJoined(racers: Racer[]): Promise<void> {
  const pids = racers.map((racer) => racer.child.pid);
  await box.waitFor(() =>
    racers.some((racer) => joinedOwners(racer.stderr()).some((pid) => pids.includes(pid))),
  );
  writeFileSync(release(), '');
}

const args = (policy: string, id: string) => box.drainArgs(policy, id);

const signalRecorded = (id: string): boolean => {
  try {
    const state = JSON.parse(readFileSync(join(box.stateDir, `${id}.json`), 'utf8'));
    return (state.targets?.w?.processes?.[0]?.signals?.length ?? 0) > 0;
  } catch {
    return false;
  }
};

/** A worker that got TERM from an agent that was then killed: an orphaned drain `id`. */
async function orphan(policy: string, id: string): Promise<number> {
  const worker = await box.start('ignores-term.mjs');
  const pid = worker.pid as number;
  const agent = startAgent(args(policy, id));
  await box.waitFor(() => box.signalsOf(pid).length === 1 && signalRecorded(id));
  agent.child.kill('SIGKILL');
  await agent.done;
  return pid;
}

type Racer = ReturnType<typeof startAgent> & { stderr: () => string };

/** Starts an agent (held at the given points, if any); `waitHeld`: returns once it is held at one of them. */
async function held(policy: string, id: string, pauses?: string, waitHeld = true): Promise<Racer> {
  const agent = startAgent(args(policy, id), pauses ? { env: { FLEET_DRAIN_TEST_PAUSE: pauses } } : {});
  let stderr = '';
  agent.child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  if (pauses && waitHeld) await waitForLog(() => stderr, 'test pause');
  return { ...agent, stderr: () => stderr };
}

function expectOneDrain(runs: AgentRun[], worker: number): void {
  expect(box.signalsOf(worker)).toEqual(['SIGTERM']);
  expect(finallyRuns()).toBe(1);
  expect(runs.map((run) => run.code)).toEqual(runs.map(() => 3));
  expect(runs.filter((run) => !run.report.joined)).toHaveLength(1);
}

describe('successors with other ids race for a killed drain', () => {
  // [the first successor is held at, for ms; how long the second starts after it is held]
  it.each([
    ['lock-broken', 600],
    ['lock-judged', 600],
    ['lock-guarded', 400],
    ['lock-broken', 150],
    ['lock-judged', 150],
  ])('held at %s for %i ms: one drains, the other joins, one TERM, finally once', async (point, ms) => {
    const policy = drainPolicy();
    const worker = await orphan(policy, 'orphan-1');

    const first = await held(policy, 'first-1', `${point}=${ms}`);
    const second = await held(policy, 'second-1');
    await releaseOnceJoined([first, second]);
    const runs = await Promise.all([first.done, second.done]);

    expectOneDrain(runs, worker);
  });

  it.each([
    ['takeover-judged=500', 'lock-judged=900'],
    ['takeover-judged=300', 'lock-guarded=600,lock-judged=300'],
    ['takeover-busy=300', 'lock-judged=600'],
  ])(
    'a successor killed holding the takeover guard: a third (%s) and a fourth (%s) still make one drain',
    async (third, fourth) => {
      const policy = drainPolicy();
      const worker = await orphan(policy, 'orphan-2');
      const killed = await held(policy, 'killed-2', 'lock-guarded=60000');
      killed.child.kill('SIGKILL');
      await killed.done;

      const a = await held(policy, 'third-2', third);
      const b = await held(policy, 'fourth-2', fourth, false);
      await releaseOnceJoined([a, b]);
      const runs = await Promise.all([a.done, b.done]);

      expectOneDrain(runs, worker);
    },
  );
});

it('the orphan’s own id run again after a successor finished it replays that drain: no finally twice', async () => {
  // Regression: the orphan's state stayed "running"; its id run again resumed it and ran finally once more.
  const policy = drainPolicy();
  const worker = await orphan(policy, 'orphan-3');
  writeFileSync(release(), ''); // one agent at a time: nothing to hold the finally step for
  const successor = await runAgent(args(policy, 'successor-3'));

  const again = await runAgent(args(policy, 'orphan-3'));

  expect(successor.code).toBe(3);
  expect(again.code).toBe(3);
  expect(again.report).toMatchObject({
    id: 'orphan-3',
    joined: true,
    joinedDrainId: 'successor-3',
    outcome: 'forced',
  });
  expect(finallyRuns()).toBe(1);
  expect(box.signalsOf(worker)).toEqual(['SIGTERM']);
});

it('a successor of another id under a changed policy starts the schedule over, with no graceful signal twice', async () => {
  const policy = drainPolicy();
  const worker = await orphan(policy, 'orphan-4');
  writeFileSync(release(), ''); // one agent at a time: nothing to hold the finally step for
  const late = (await box.start('ignores-term.mjs')).pid as number;
  const changed = box.policy({
    version: 1,
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'QUIT/1s/TERM/1s/KILL/2s' }],
  });

  const successor = await runAgent(args(changed, 'successor-4'));

  expect(successor.stderr).toContain('the policy changed since this drain began');
  expect(box.signalsOf(worker)).toEqual(['SIGTERM']);
  expect(box.signalsOf(late)).toEqual(['SIGQUIT', 'SIGTERM']);
  expect(successor.code).toBe(3);
});
