// The agent against real processes: fixture workers that handle or ignore signals, fork, exit slowly.
// Assertions are on the order and count of the signals each fixture recorded, never on wall-clock bounds.

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStat } from '../../agent/host/proc.js';
import { parsePlanOutput } from '../../common/plan-output.js';
import { AGENT, AGENT_NODE, isAlive, runAgent, Sandbox, startAgent } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const readState = (id: string) => JSON.parse(readFileSync(join(box.stateDir, `${id}.json`), 'utf8'));
/**
 * True once drain `id`'s state file records a signal to target `w`: the agent saves it right after sending,
 * so a test that kills the agent mid-drain waits for this, not only for the worker to see the signal.
 */
const signalRecorded = (id: string): boolean => {
  try {
    return (readState(id).targets?.w?.processes?.[0]?.signals?.length ?? 0) > 0;
  } catch {
    return false; // not written yet
  }
};

const drainArgs = (policy: string, id?: string) => box.drainArgs(policy, id);

describe('drain exit codes and outcomes', () => {
  it('exits 0 with outcome drained when every worker stops after TERM', async () => {
    const worker = await box.start('graceful-worker.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/20s/KILL/5s' }],
    });

    const run = await runAgent(drainArgs(policy));

    expect(run.code).toBe(0);
    expect(run.report.outcome).toBe('drained');
    expect(run.report.targets[0]).toMatchObject({ name: 'w', kind: 'process', outcome: 'drained' });
    expect(run.report.targets[0]?.processes).toEqual([
      expect.objectContaining({ pid: worker.pid, forced: false, signals: [['TERM', expect.any(Number)]] }),
    ]);
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(isAlive(worker.pid as number)).toBe(false);
  });

  it('exits 0 with outcome nothing when nothing matches', async () => {
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: `${box.tag}-absent` } }],
    });

    const run = await runAgent(drainArgs(policy));

    expect(run.code).toBe(0);
    expect(run.report.outcome).toBe('nothing');
    expect(run.report.targets[0]?.outcome).toBe('nothing');
  });

  it('exits 3 with outcome forced when a worker ignores TERM and only KILL stops it', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/1s/KILL/5s' }],
    });

    const run = await runAgent(drainArgs(policy));

    expect(run.code).toBe(3);
    expect(run.report.outcome).toBe('forced');
    const [process] = run.report.targets[0]?.processes ?? [];
    expect(process?.forced).toBe(true);
    expect(process?.signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(isAlive(worker.pid as number)).toBe(false);
  });

  it('exits 2 with outcome incomplete when a worker is still running at the end (the agent may not signal it)', async () => {
    // The agent runs unprivileged (nobody) against a root worker: every signal fails with EPERM.
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/200ms/KILL/300ms' }],
    });
    chmodSync(box.dir, 0o777);

    const run = await runAgent(
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', AGENT_NODE, AGENT, ...drainArgs(policy)],
      {
        program: 'setpriv',
      },
    );

    expect(run.code).toBe(2);
    expect(run.report.outcome).toBe('incomplete');
    expect(run.report.targets[0]).toMatchObject({ outcome: 'error', error: expect.stringMatching(/EPERM/) });
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(isAlive(worker.pid as number)).toBe(true);
  });

  it('exits 4 with outcome interrupted when the agent gets TERM, and stops escalating', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/10m/KILL/5s' }],
    });
    const agent = startAgent(drainArgs(policy));
    let stderr = '';
    agent.child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);

    agent.child.kill('SIGTERM');
    const run = await agent.done;

    expect(run.code).toBe(4);
    expect(run.report.outcome).toBe('interrupted');
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(isAlive(worker.pid as number)).toBe(true);
    expect(stderr).toContain('"message":"drain finished"');
  });

  it('exits 78 with a clear message when the state dir cannot be created', async () => {
    const policy = box.policy({ version: 1, targets: [{ name: 'w', match: { cmdline: box.tag } }] });

    const run = await runAgent(['drain', '--config', policy, '--state-dir', join(policy, 'not-a-dir')]);

    expect(run.code).toBe(78);
    expect(run.report.outcome).toBe('error');
    expect(run.report.error).toMatch(/not a folder \(ENOTDIR\)/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('idempotence on the host', () => {
  it('a concurrent duplicate joins the running drain: the lava worker gets exactly one HUP', async () => {
    const worker = await box.start('lava-worker.mjs', { env: { EXIT_DELAY_MS: '700' } });
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'lava', match: { cmdline: box.tag }, preset: 'lava' }],
    });

    const first = startAgent(drainArgs(policy, 'dup-1'));
    const second = startAgent(drainArgs(policy, 'dup-1'));
    const [a, b] = await Promise.all([first.done, second.done]);

    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGHUP']);
    expect(box.records().find((r) => r.event === 'exit')?.how).toBe('finished');
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.report.joined, b.report.joined].sort()).toEqual([false, true]);
    expect(a.report.targets).toEqual(b.report.targets);
  });

  it('a drain with another id joins the running one: one drain per host, one HUP per worker', async () => {
    // An adopted drain and a late lifecycle event for the same instance carry different ids.
    const worker = await box.start('lava-worker.mjs', { env: { EXIT_DELAY_MS: '5000' } });
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'lava', match: { cmdline: box.tag }, preset: 'lava' }],
    });
    const first = startAgent(drainArgs(policy, 'adopted-i-0123456789abcdef0'));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);

    const second = await runAgent(drainArgs(policy, 'token-2'));
    const owner = await first.done;

    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGHUP']);
    expect(second.report).toMatchObject({
      id: 'token-2',
      joined: true,
      joinedDrainId: 'adopted-i-0123456789abcdef0',
    });
    expect(second.report.targets).toEqual(owner.report.targets);
    expect(second.code).toBe(owner.code);
  });

  it('never signals another fleet-drain agent, even when the policy matches its command line', async () => {
    // A joining duplicate runs `node …/fleet-drain-agent.js drain …`: a policy for node workers matches it.
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [
        { name: 'w', match: { cmdline: `${box.tag}|fleet-drain-agent` }, schedule: 'HUP/5s/KILL/2s' },
      ],
    });
    const owner = startAgent(drainArgs(policy, 'owner-1'));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);

    const joiner = await runAgent(drainArgs(policy, 'joiner-1'));
    const first = await owner.done;

    expect(first.report.targets[0]?.processes.map((p) => p.pid)).toEqual([worker.pid]);
    expect(joiner.report).toMatchObject({ id: 'joiner-1', joined: true, joinedDrainId: 'owner-1' });
    expect([first.code, joiner.code]).toEqual([3, 3]);
  });

  it('a drain with another id resumes the progress of a running drain whose agent died', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/1500ms/KILL/5s' }],
    });
    const first = startAgent(drainArgs(policy, 'first-id'));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1 && signalRecorded('first-id'));
    first.child.kill('SIGKILL');
    await first.done;

    const second = await runAgent(drainArgs(policy, 'second-id'));

    expect(second.code).toBe(3);
    expect(second.report.id).toBe('second-id');
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(second.report.targets[0]?.processes[0]?.signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
  });

  it('a duplicate after the drain finished replays the report and sends nothing', async () => {
    const worker = await box.start('lava-worker.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'lava', match: { cmdline: box.tag }, preset: 'lava' }],
    });
    const first = await runAgent(drainArgs(policy, 'replay-1'));
    const again = await box.start('lava-worker.mjs'); // a new worker matching the same policy

    const replay = await runAgent(drainArgs(policy, 'replay-1'));

    expect(replay.code).toBe(first.code);
    expect(replay.report).toEqual({ ...first.report, joined: true });
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGHUP']);
    expect(box.signalsOf(again.pid as number)).toEqual([]);
  });

  it('the same id run again after an interruption resumes the drain where it stood: KILL, no second TERM', async () => {
    // Regression: it replayed `interrupted` (exit 4) and signalled nothing, the worker left running.
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/1500ms/KILL/5s' }],
    });
    const first = startAgent(drainArgs(policy, 'interrupted-1'));
    await box.waitFor(
      () => box.signalsOf(worker.pid as number).length === 1 && signalRecorded('interrupted-1'),
    );
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(4);

    const second = await runAgent(drainArgs(policy, 'interrupted-1'));

    expect(second.stderr).toContain('resuming an interrupted drain where it stood');
    expect(second.code).toBe(3);
    expect(second.report).toMatchObject({ id: 'interrupted-1', outcome: 'forced', joined: false });
    expect(second.report.targets[0]?.processes[0]?.signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    expect(isAlive(worker.pid as number)).toBe(false);
    // Finished now: a third run replays it.
    const third = await runAgent(drainArgs(policy, 'interrupted-1'));
    expect(third.report).toEqual({ ...second.report, joined: true });
  });

  it('a drain whose agent was killed resumes where it stood: no signal is sent twice', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/1500ms/KILL/5s' }],
    });
    const first = startAgent(drainArgs(policy, 'resume-1'));
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1 && signalRecorded('resume-1'));
    first.child.kill('SIGKILL');
    await first.done;

    const second = await runAgent(drainArgs(policy, 'resume-1'));

    expect(second.code).toBe(3);
    expect(second.stderr).toContain('resuming a drain whose agent died');
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    const [process] = second.report.targets[0]?.processes ?? [];
    expect(process?.signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
    expect(isAlive(worker.pid as number)).toBe(false);
  });
  it('a resumed drain skips the prepare and finally steps that ran, and runs the one a crash cut short', async () => {
    // Regression: a successor ran every finally step again (a second log upload, a second deregistration).
    const worker = await box.start('graceful-worker.mjs');
    const mark = join(box.dir, 'crashed-once');
    const echo = (event: string) => `echo '{"event":"${event}"}' >> ${box.log}`;
    const policy = box.policy({
      version: 1,
      prepare: [{ run: ['sh', '-c', echo('prepare')] }],
      targets: [{ name: 'w', match: { cmdline: box.tag } }],
      finally: [
        { run: ['sh', '-c', echo('finally-1')] },
        // The first time, this step kills the agent running it (its parent) before it completes.
        { run: ['sh', '-c', `${echo('finally-2')}; [ -e ${mark} ] || { touch ${mark}; kill -KILL $PPID; }`] },
      ],
    });
    const first = await runAgent(drainArgs(policy, 'steps-1'));
    expect(first.code).toBeNull();
    // Still written for an older agent taking the drain over (it reads this count, not stepsDone).
    expect(readState('steps-1').prepareDone).toBe(1);

    const second = await runAgent(drainArgs(policy, 'steps-1'));

    expect(second.code).toBe(0);
    expect(second.stderr).toContain('resuming a drain whose agent died');
    expect(second.stderr).toMatch(/"level":"info","message":"prepare step already ran, skipped"/);
    expect(second.stderr.match(/"message":"finally step already ran, skipped"/g)).toHaveLength(1);
    const events = box.records().map((r) => r.event as string);
    expect(events.filter((e) => e === 'prepare')).toHaveLength(1);
    expect(events.filter((e) => e === 'finally-1')).toHaveLength(1);
    expect(events.filter((e) => e === 'finally-2')).toHaveLength(2);
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    // The report shows every step the drain ran, the dead agent's too.
    expect(second.report.prepare.map((s) => s.ok)).toEqual([true]);
    expect(second.report.finally.map((s) => s.step)).toEqual([
      expect.stringContaining('finally-1'),
      expect.stringContaining('finally-2'),
    ]);
  });

  it('resumes the state file of the previous agent version as it stood: no prepare step or stop command twice', async () => {
    // Regression: a state without a policy fingerprint was taken for a changed policy: its progress was thrown
    // away, the prepare step ran again and so did the stop command (the target's graceful signal).
    const worker = await box.start('ignores-term.mjs');
    const echo = (event: string) => ['sh', '-c', `echo '{"event":"${event}"}' >> ${box.log}`];
    const policy = box.policy({
      version: 1,
      prepare: [{ run: echo('prepare') }],
      targets: [
        { name: 'app', match: { cmdline: box.tag }, stop: { run: echo('stop') }, schedule: '300ms/KILL/5s' },
      ],
    });
    const stat = parseStat(readFileSync(`/proc/${worker.pid}/stat`, 'utf8'));
    // What that agent wrote right before running the stop command: a prepare step count, no policy
    // fingerprint, no record of finally steps, no `stopped` flag.
    mkdirSync(box.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(box.stateDir, 'legacy-1.json'),
      JSON.stringify({
        id: 'legacy-1',
        status: 'running',
        startedAt: new Date(Date.now() - 5_000).toISOString(),
        prepareDone: 1,
        phase: 'targets',
        targets: {
          app: {
            step: 0,
            stepStartedMs: 1_000,
            processes: [
              {
                pid: worker.pid,
                command: 'node ignores-term.mjs',
                signals: [],
                exitedAfterMs: null,
                forced: false,
                startTime: stat?.startTime,
                matched: true,
              },
            ],
          },
        },
      }),
    );

    const run = await runAgent(drainArgs(policy, 'legacy-1'));

    expect(run.stderr).toContain('resuming a drain whose agent died');
    expect(run.stderr).not.toContain('the policy changed');
    expect(run.stderr).toContain('"message":"prepare step already ran, skipped"');
    const events = box.records().map((r) => r.event as string);
    expect(events.filter((e) => e === 'prepare' || e === 'stop')).toEqual([]);
    // The schedule went on from its saved step: the wait that follows the stop command, then KILL.
    expect(run.report.targets[0]?.processes.map((p) => [p.pid, p.signals.map(([name]) => name)])).toEqual([
      [worker.pid, ['KILL']],
    ]);
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(run.code).toBe(3);
    expect(isAlive(worker.pid as number)).toBe(false);
    expect(readState('legacy-1')).toMatchObject({ prepareDone: 1, policy: expect.any(String) });
  });

  it('a drain resumed under another policy starts its schedule over, but sends no graceful signal twice', async () => {
    // Regression: the saved step index was replayed into the new schedule, where it named another step: the
    // worker that had TERM got TERM again ("abort now" to many workers), a new one skipped its first signal.
    const old = await box.start('ignores-term.mjs');
    const target = { name: 'w', match: { cmdline: box.tag } };
    const before = box.policy({ version: 1, targets: [{ ...target, schedule: 'TERM/10m/KILL/5s' }] });
    const first = startAgent(drainArgs(before, 'changed-1'));
    await box.waitFor(() => box.signalsOf(old.pid as number).length === 1);
    first.child.kill('SIGKILL');
    await first.done;
    const late = await box.start('ignores-term.mjs'); // started while no agent ran
    const after = box.policy({
      version: 1,
      targets: [{ ...target, schedule: 'QUIT/1s/TERM/1s/KILL/5s' }],
    });

    const second = await runAgent(drainArgs(after, 'changed-1'));

    expect(second.stderr).toContain('the policy changed since this drain began');
    expect(box.signalsOf(old.pid as number)).toEqual(['SIGTERM']);
    expect(box.signalsOf(late.pid as number)).toEqual(['SIGQUIT', 'SIGTERM']);
    const signals = (pid: number | undefined) =>
      second.report.targets[0]?.processes.find((p) => p.pid === pid)?.signals.map(([name]) => name);
    expect(signals(old.pid)).toEqual(['KILL']);
    expect(signals(late.pid)).toEqual(['QUIT', 'TERM', 'KILL']);
    expect(second.code).toBe(3);
    for (const pid of [old.pid, late.pid]) expect(isAlive(pid as number)).toBe(false);
  });
});

describe('process trees', () => {
  it('signals the root gracefully and KILLs the double-forked grandchild left in its session', async () => {
    await box.start('forks-children.mjs', { ready: 4, env: { EXIT_DELAY_MS: '100' } });
    const records = box.records();
    const byRole = (role: string) =>
      records.filter((r) => r.role === role && r.event === 'ready').map((r) => r.pid);
    const [parent] = byRole('worker');
    const children = byRole('child');
    const [grandchild] = byRole('grandchild');
    const policy = box.policy({
      version: 1,
      targets: [
        { name: 'tree', match: { cmdline: `forks-children.mjs ${box.tag}$` }, schedule: 'TERM/2s/KILL/5s' },
      ],
    });

    const run = await runAgent(drainArgs(policy));

    expect(run.code).toBe(3);
    expect(box.signalsOf(parent as number)).toEqual(['SIGTERM']);
    for (const child of children) expect(box.signalsOf(child)).toEqual([]);
    expect(box.signalsOf(grandchild as number)).toEqual([]);
    const reported = run.report.targets[0]?.processes ?? [];
    expect(reported.find((p) => p.pid === grandchild)).toMatchObject({
      forced: true,
      signals: [['KILL', expect.any(Number)]],
    });
    for (const pid of [parent, grandchild, ...children]) expect(isAlive(pid as number)).toBe(false);
  });

  it('with scope "all" every process of the tree gets the graceful signal', async () => {
    await box.start('forks-children.mjs', { ready: 4 });
    const children = box
      .records()
      .filter((r) => r.role === 'child')
      .map((r) => r.pid);
    const policy = box.policy({
      version: 1,
      targets: [
        {
          name: 'tree',
          match: { cmdline: `forks-children.mjs ${box.tag}$` },
          scope: 'all',
          schedule: 'TERM/2s/KILL/5s',
        },
      ],
    });

    await runAgent(drainArgs(policy));

    for (const child of children) expect(box.signalsOf(child)).toEqual(['SIGTERM']);
  });

  it('counts a zombie as exited', async () => {
    const zombiePidfile = join(box.dir, 'zombie.pid');
    await box.start('zombie-parent.sh', { args: [zombiePidfile, box.tag] });
    const zombie = readFileSync(zombiePidfile, 'utf8').trim();
    await box.waitFor(() => /\) Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')));
    const policy = box.policy({ version: 1, targets: [{ name: 'z', pidfile: zombiePidfile }] });

    const run = await runAgent(drainArgs(policy));

    expect(run.code).toBe(0);
    expect(run.report.outcome).toBe('nothing');
  });

  it('drains a parent that holds a zombie child without waiting for the zombie', async () => {
    const zombiePidfile = join(box.dir, 'zombie.pid');
    const parent = await box.start('zombie-parent.sh', { args: [zombiePidfile, box.tag] });
    const zombie = readFileSync(zombiePidfile, 'utf8').trim();
    await box.waitFor(() => /\) Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')));
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'p', match: { cmdline: box.tag, user: 'root' } }],
    });

    const run = await runAgent(drainArgs(policy));

    expect(run.report.targets[0]?.processes.map((p) => p.pid)).toEqual([parent.pid]);
    expect(run.code).toBe(0);
  });
});

describe('steps, ordering and dry runs', () => {
  it('runs prepare before any signal and finally after the last target', async () => {
    const worker = await box.start('graceful-worker.mjs');
    const marker = join(box.dir, 'run/app/no-dispatch');
    mkdirSync(join(box.dir, 'run/app'), { recursive: true });
    const policy = box.policy({
      version: 1,
      prepare: [{ touch: marker }, { run: ['sh', '-c', `echo '{"event":"prepare"}' >> ${box.log}`] }],
      targets: [{ name: 'w', match: { cmdline: box.tag } }],
      finally: [{ run: ['sh', '-c', `echo '{"event":"finally"}' >> ${box.log}`] }, { run: ['false'] }],
    });

    const run = await runAgent(drainArgs(policy));

    expect(existsSync(marker)).toBe(true);
    const events = box.records().map((r) => (r.event === 'signal' ? r.signal : r.event));
    expect(events.slice(1)).toEqual(['prepare', 'SIGTERM', 'exit', 'finally']);
    expect(run.report.prepare.map((s) => s.ok)).toEqual([true, true]);
    expect(run.report.finally.map((s) => s.ok)).toEqual([true, false]);
    expect(run.report.finally[1]?.error).toBe('exited 1');
    expect(run.code).toBe(0);
    void worker;
  });

  it('starts a target only after the targets it is "after" have stopped', async () => {
    const web = await box.start('graceful-worker.mjs', {
      env: { FIXTURE_ROLE: 'web', EXIT_DELAY_MS: '300' },
      args: ['web'],
    });
    const jobs = await box.start('graceful-worker.mjs', { env: { FIXTURE_ROLE: 'jobs' }, args: ['jobs'] });
    const policy = box.policy({
      version: 1,
      targets: [
        { name: 'jobs', match: { cmdline: `${box.tag} jobs$` }, after: ['web'] },
        { name: 'web', match: { cmdline: `${box.tag} web$` } },
      ],
    });

    await runAgent(drainArgs(policy));

    const order = box
      .records()
      .filter((r) => r.event !== 'ready')
      .map((r) => `${r.role}:${r.event}`);
    expect(order).toEqual(['web:signal', 'web:exit', 'jobs:signal', 'jobs:exit']);
    void web;
    void jobs;
  });

  it('a stop command replaces the first signal; the schedule then only waits', async () => {
    const worker = await box.start('graceful-worker.mjs');
    const policy = box.policy({
      version: 1,
      targets: [
        {
          name: 'app',
          match: { cmdline: box.tag },
          stop: { run: ['kill', '-INT', String(worker.pid)] },
          schedule: '10s/KILL/5s',
        },
      ],
    });

    const run = await runAgent(drainArgs(policy));

    expect(run.code).toBe(0);
    expect(run.report.targets[0]).toMatchObject({ kind: 'command', outcome: 'drained' });
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGINT']);
  });

  it('--dry-run reports the targets and signals nothing', async () => {
    const worker = await box.start('graceful-worker.mjs');
    const marker = join(box.dir, 'marker');
    const policy = box.policy({
      version: 1,
      prepare: [{ touch: marker }],
      targets: [{ name: 'w', match: { cmdline: box.tag } }],
    });

    const run = await runAgent([...drainArgs(policy), '--dry-run']);

    expect(run.code).toBe(0);
    expect(run.report).toMatchObject({ dryRun: true, outcome: 'nothing' });
    expect(run.report.targets[0]?.processes.map((p) => p.pid)).toEqual([worker.pid]);
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(isAlive(worker.pid as number)).toBe(true);
  });

  it('plan lists what each target would match, flags one that matches nothing, and signals nothing', async () => {
    const worker = await box.start('graceful-worker.mjs');
    const policy = box.policy({
      version: 1,
      targets: [
        { name: 'w', match: { cmdline: box.tag }, preset: 'celery' },
        { name: 'gone', match: { cmdline: `${box.tag}-renamed` } },
      ],
    });

    const run = await runAgent(['plan', '--config', policy]);
    const parsed = parsePlanOutput(run.stdout);

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('fleet-drain-plan v1 targets=2 unmatched=1 errors=0');
    const [w, gone] = parsed.plan?.targets ?? [];
    expect(w).toMatchObject({ name: 'w', schedule: 'TERM/10m/QUIT/30s/KILL/5s', matches: 1 });
    expect(w?.unmatched).toBeUndefined();
    expect(w?.processes).toEqual([expect.objectContaining({ pid: worker.pid, matched: true })]);
    expect(gone).toMatchObject({ name: 'gone', matches: 0, unmatched: true, processes: [] });
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
  });

  it('status shows the last drain', async () => {
    await box.start('graceful-worker.mjs');
    const policy = box.policy({ version: 1, targets: [{ name: 'w', match: { cmdline: box.tag } }] });
    await runAgent(drainArgs(policy, 'status-1'));

    const run = await runAgent(['status', '--state-dir', box.stateDir]);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      id: 'status-1',
      status: 'finished',
      report: { outcome: 'drained' },
    });
  });
});

describe('deadline', () => {
  it('bounds a prepare command by the deadline too, leaving room for the final step', async () => {
    // A 10-minute prepare timeout under a 3-second deadline: the schedule's KILL must still come in time.
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      prepare: [{ run: ['sleep', '60'], timeout: '10m' }],
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/10m/KILL/1s' }],
    });

    const run = await runAgent([...drainArgs(policy), '--deadline', '3s']);

    expect(run.report.prepare[0]).toMatchObject({ ok: false, error: expect.stringMatching(/timed out/) });
    expect(run.code).toBe(3);
    const [process] = run.report.targets[0]?.processes ?? [];
    expect(process?.signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
    // TERM and KILL land moments apart by design: the worker may die before it logs TERM, never logs two.
    expect([[], ['SIGTERM']]).toContainEqual(box.signalsOf(worker.pid as number));
  });

  it('clips the waits so the final KILL still fits before the deadline', async () => {
    // A 10-minute grace with a 2-second deadline: without clipping this drain would outlive the test.
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/10m/KILL/1s' }],
    });

    const run = await runAgent([...drainArgs(policy), '--deadline', '2s']);

    expect(run.code).toBe(3);
    const [process] = run.report.targets[0]?.processes ?? [];
    expect(process?.signals.map(([name]) => name)).toEqual(['TERM', 'KILL']);
    const killAt = process?.signals[1]?.[1] as number;
    expect(killAt).toBeLessThan(run.report.durationMs + 1);
    expect(new Date(run.report.startedAt).getTime() + killAt).toBeLessThanOrEqual(
      new Date(run.report.deadline as string).getTime(),
    );
    // A slow start leaves TERM and KILL close together: the worker may die before it logs TERM. Given a
    // second between them, it logs it.
    const termAt = process?.signals[0]?.[1] as number;
    const logged = box.signalsOf(worker.pid as number);
    if (killAt - termAt >= 1000) expect(logged).toEqual(['SIGTERM']);
    else expect([[], ['SIGTERM']]).toContainEqual(logged);
  });
});
