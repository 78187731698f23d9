// Successors of a killed agent that race for its drain, run many times with the agent held at the critical
// points of taking the lock over (FLEET_DRAIN_TEST_PAUSE, agent/host/test-pauses.ts): whatever the
// interleaving, one of them drains, the others join it, the orphan's progress is handed over (no worker gets
// a second graceful signal) and the finally steps run once.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRun, runAgent, Sandbox, startAgent, waitForLog } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const finallyRuns = () => box.records().filter((r) => (r.event as string) === 'finally').length;

function drainPolicy(): string {
  return box.policy({
    version: 1,
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/800ms/KILL/2s' }],
    // The finally step holds the drain 2 s more, so that a successor started later, on a loaded machine, still
    // finds it running (after it, another id would rightly drain afresh).
    finally: [{ run: ['sh', '-c', `echo '{"event":"finally"}' >> ${box.log}; sleep 2`] }],
  });
}

const args = (policy: string, id: string) => [
  'drain',
  '--config',
  policy,
  '--id',
  id,
  '--state-dir',
  box.stateDir,
];

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

/** Starts an agent held at the given points; `waitHeld`: returns once it is held at one of them. */
async function held(policy: string, id: string, pauses: string, waitHeld = true) {
  const agent = startAgent(args(policy, id), { env: { FLEET_DRAIN_TEST_PAUSE: pauses } });
  let stderr = '';
  agent.child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  if (waitHeld) await waitForLog(() => stderr, 'test pause');
  return agent;
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
    const second = startAgent(args(policy, 'second-1'));
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
      const runs = await Promise.all([a.done, b.done]);

      expectOneDrain(runs, worker);
    },
  );
});

it('the orphan’s own id run again after a successor finished it replays that drain: no finally twice', async () => {
  // Regression: the orphan's state stayed "running"; its id run again resumed it and ran finally once more.
  const policy = drainPolicy();
  const worker = await orphan(policy, 'orphan-3');
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
  const late = (await box.start('ignores-term.mjs')).pid as number;
  const changed = box.policy({
    version: 1,
    targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'QUIT/300ms/TERM/300ms/KILL/2s' }],
  });

  const successor = await runAgent(args(changed, 'successor-4'));

  expect(successor.stderr).toContain('the policy changed since this drain began');
  expect(box.signalsOf(worker)).toEqual(['SIGTERM']);
  expect(box.signalsOf(late)).toEqual(['SIGQUIT', 'SIGTERM']);
  expect(successor.code).toBe(3);
});
