// What `plan`, `status` and a bad --state-dir say, against real processes: a target error is not "exit 0", a
// drain whose agent died is not "running", and a state dir the agent cannot use is a config error (78), not
// an internal one (70) with a stack.

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlanOutput } from '../../common/plan-output';
import { AGENT, AGENT_NODE, isAlive, runAgent, Sandbox, startAgent } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const unknownUser = () =>
  box.policy({
    version: 1,
    targets: [
      { name: 'ok', match: { cmdline: box.tag }, schedule: 'TERM/5s/KILL/1s' },
      { name: 'nobody-here', match: { cmdline: box.tag, user: 'nosuchuser' } },
    ],
  });

describe('a target that cannot be handled', () => {
  it('plan exits 2 and names the error, signalling nothing', async () => {
    const worker = await box.start('graceful-worker.mjs');

    const run = await runAgent(['plan', '--config', unknownUser()]);

    expect(run.code).toBe(2);
    const { plan, summary } = parsePlanOutput(run.stdout);
    expect(summary.errors).toBe(1);
    if (plan === undefined) throw new Error('no plan on stdout');
    expect(plan.targets[1]).toMatchObject({
      name: 'nobody-here',
      error: 'user "nosuchuser" is not in /etc/passwd; give a numeric uid',
    });
    expect(plan.targets[0]?.processes).toEqual([expect.objectContaining({ pid: worker.pid })]);
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
  });

  it('drain ends incomplete (2), and its target done log line says why', async () => {
    const worker = await box.start('graceful-worker.mjs');

    const run = await runAgent(['drain', '--config', unknownUser(), '--state-dir', box.stateDir]);

    expect(run.code).toBe(2);
    expect(run.report.targets[1]?.outcome).toBe('error');
    const line = run.stderr
      .split('\n')
      .find((l) => l.includes('"target":"nobody-here"') && l.includes('"target done"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      outcome: 'error',
      error: 'user "nosuchuser" is not in /etc/passwd; give a numeric uid',
    });
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
  });
});

describe('status', () => {
  it('shows a drain whose agent died as abandoned, with what to do', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'w', match: { cmdline: box.tag }, schedule: 'TERM/10m/KILL/1s' }],
    });
    const agent = startAgent(['drain', '--config', policy, '--id', 'dead-1', '--state-dir', box.stateDir]);
    await box.waitFor(() => box.signalsOf(worker.pid as number).length === 1);
    const running = await runAgent(['status', '--state-dir', box.stateDir]);
    agent.child.kill('SIGKILL');
    await agent.done;

    const run = await runAgent(['status', '--state-dir', box.stateDir]);

    expect(JSON.parse(running.stdout)).toMatchObject({ id: 'dead-1', status: 'running' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      id: 'dead-1',
      status: 'abandoned',
      hint: 'its agent died; drain --id dead-1 resumes it, restore --id dead-1 undoes its changes',
    });
    expect(isAlive(worker.pid as number)).toBe(true);
  });

  it('says the state folder is missing, and refuses one that is a file (78)', async () => {
    const file = join(box.dir, 'a-file');
    writeFileSync(file, '');

    const missing = await runAgent(['status', '--state-dir', join(box.dir, 'missing')]);
    const notADir = await runAgent(['status', '--state-dir', file]);

    expect(missing.code).toBe(0);
    expect(JSON.parse(missing.stdout)).toEqual({
      status: 'none',
      stateDir: join(box.dir, 'missing'),
      reason: 'the state folder does not exist: no drain has used it',
    });
    expect(notADir.code).toBe(78);
    expect(notADir.stderr).toBe(
      `fleet-drain-agent: --state-dir ${file} is not a folder (ENOTDIR); give the folder drains use\n`,
    );
  });
});

describe('a state dir the drain cannot use', () => {
  it('a file: exit 78 naming it, no stack, no signal', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({ version: 1, targets: [{ name: 'w', match: { cmdline: box.tag } }] });
    const file = join(box.dir, 'state-file');
    writeFileSync(file, '');

    const run = await runAgent(['drain', '--config', policy, '--state-dir', file]);

    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(
      /^fleet-drain-agent: --state-dir .*state-file is not a folder \(ENOTDIR\); give a writable folder/,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.report).toMatchObject({ outcome: 'error', exitCode: 78 });
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
  });

  it('a folder the agent cannot write (run as nobody): exit 78, no stack, no signal', async () => {
    const worker = await box.start('ignores-term.mjs');
    const policy = box.policy({ version: 1, targets: [{ name: 'w', match: { cmdline: box.tag } }] });
    const readOnly = join(box.dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o755 });
    chmodSync(box.dir, 0o755);
    chmodSync(policy, 0o644);

    const run = await runAgent(
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        AGENT_NODE,
        AGENT,
        'drain',
        '--config',
        policy,
        '--state-dir',
        readOnly,
      ],
      { program: 'setpriv' },
    );

    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/--state-dir .*read-only is not a folder this agent can write \(EACCES\)/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(box.signalsOf(worker.pid as number)).toEqual([]);
    expect(readFileSync(box.log, 'utf8')).not.toContain('"event":"signal"');
  });
});
