// systemd and Docker targets, tested against recording stand-ins for `systemctl` and `docker` on PATH
// (no systemd as PID 1 and no Docker engine here). The units and containers are real fixture workers.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlanOutput } from '../../common/plan-output.js';
import { FIXTURES, isAlive, parseJson, runAgent, Sandbox, startAgent } from './helpers.js';

let box: Sandbox;
let env: Record<string, string>;
beforeEach(() => {
  box = new Sandbox();
  env = {
    PATH: `${join(FIXTURES, 'bin')}:${process.env.PATH}`,
    STANDIN_LOG: join(box.dir, 'standin.log'),
    STANDIN_STATE: join(box.dir, 'standin.json'),
    FLEET_DRAIN_SYSTEMD_RUNTIME_DIR: join(box.dir, 'run-systemd'),
  };
  writeFileSync(env.STANDIN_LOG as string, '');
});
afterEach(() => box.cleanup());

const calls = () =>
  readFileSync(env.STANDIN_LOG as string, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { tool: string; argv: string[] });
const drain = (policy: string) =>
  runAgent(['drain', '--config', policy, '--id', 'sup-1', '--state-dir', box.stateDir], { env });

describe('systemd target (recording stand-in systemctl)', () => {
  it('holds restarts with a runtime drop-in, then signals the main process through systemctl', async () => {
    const one = await box.start('graceful-worker.mjs');
    const two = await box.start('graceful-worker.mjs');
    const other = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        units: { 'worker@1.service': one.pid, 'worker@2.service': two.pid, 'web.service': other.pid },
      }),
    );
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'queue', systemd: 'worker@*', schedule: 'TERM/10s/KILL/5s' }],
    });

    const run = await drain(policy);

    expect(run.code).toBe(0);
    expect(run.report.targets[0]).toMatchObject({ kind: 'systemd', outcome: 'drained' });
    expect(run.report.targets[0]?.processes.map((p) => [p.command, p.pid])).toEqual([
      ['worker@1.service', one.pid],
      ['worker@2.service', two.pid],
    ]);
    for (const unit of ['worker@1.service', 'worker@2.service']) {
      expect(
        readFileSync(
          join(env.FLEET_DRAIN_SYSTEMD_RUNTIME_DIR as string, `${unit}.d/zz-fleet-drain.conf`),
          'utf8',
        ),
      ).toMatch(/^Restart=no$/m);
    }
    const verbs = calls().map((c) => c.argv[0]);
    expect(verbs.indexOf('daemon-reload')).toBeLessThan(verbs.indexOf('kill'));
    expect(
      calls()
        .filter((c) => c.argv[0] === 'kill')
        .map((c) => c.argv),
    ).toEqual([
      ['kill', '--kill-who=main', '--signal=TERM', '--', 'worker@1.service'],
      ['kill', '--kill-who=main', '--signal=TERM', '--', 'worker@2.service'],
    ]);
    expect(box.signalsOf(other.pid as number)).toEqual([]);
    expect(isAlive(other.pid as number)).toBe(true);
  });

  it('drains a unit that starts during the drain (a socket or a timer started it): restarts held, TERM at once', async () => {
    // Regression: units were listed once, at the start; one started later ran on, undrained.
    const first = await box.start('graceful-worker.mjs', { env: { EXIT_DELAY_MS: '2500' } });
    // Booted up front, a unit only once the drain began: the first unit's 2.5 s need not cover a boot.
    const late = await box.start('graceful-worker.mjs', { env: { EXIT_DELAY_MS: '100' } });
    writeFileSync(env.STANDIN_STATE as string, JSON.stringify({ units: { 'worker@1.service': first.pid } }));
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'queue', systemd: 'worker@*', schedule: 'TERM/20s/KILL/5s' }],
    });
    const agent = startAgent(['drain', '--config', policy, '--id', 'sup-1', '--state-dir', box.stateDir], {
      env,
    });
    await box.waitFor(() => box.signalsOf(first.pid as number).length === 1);
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({ units: { 'worker@1.service': first.pid, 'worker@2.service': late.pid } }),
    );

    const run = await agent.done;

    expect(box.signalsOf(late.pid as number)).toEqual(['SIGTERM']);
    expect(run.report.targets[0]?.processes.map((p) => [p.command, p.signals.map(([name]) => name)])).toEqual(
      [
        ['worker@1.service', ['TERM']],
        ['worker@2.service', ['TERM']],
      ],
    );
    expect(
      existsSync(
        join(env.FLEET_DRAIN_SYSTEMD_RUNTIME_DIR as string, 'worker@2.service.d/zz-fleet-drain.conf'),
      ),
    ).toBe(true);
    expect(run.code).toBe(0);
    expect(isAlive(late.pid as number)).toBe(false);
  });

  it('sends KILL to the whole control group when the unit ignores TERM', async () => {
    const stubborn = await box.start('ignores-term.mjs');
    writeFileSync(env.STANDIN_STATE as string, JSON.stringify({ units: { 'legacy.service': stubborn.pid } }));
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'legacy', systemd: 'legacy.service', schedule: 'TERM/500ms/KILL/5s' }],
    });

    const run = await drain(policy);

    expect(run.code).toBe(3);
    expect(
      calls()
        .filter((c) => c.argv[0] === 'kill')
        .map((c) => c.argv.slice(1, 3)),
    ).toEqual([
      ['--kill-who=main', '--signal=TERM'],
      ['--kill-who=all', '--signal=KILL'],
    ]);
    expect(run.report.targets[0]?.processes[0]).toMatchObject({ forced: true });
  });

  it('skips a oneshot unit that stays active with no process, and drains the others', async () => {
    // Regression: systemd refuses `kill --kill-who=main` for the whole call when one unit has no main process.
    const worker = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        units: { 'app-migrate.service': { pid: 0, sub: 'exited' }, 'app-worker.service': worker.pid },
      }),
    );
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'app', systemd: 'app-*', schedule: 'TERM/10s/KILL/5s' }],
    });

    const run = await drain(policy);

    expect(run.code).toBe(0);
    expect(run.report.targets[0]).toMatchObject({ outcome: 'drained' });
    expect(box.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    const worked = run.report.targets[0]?.processes.find((p) => p.command === 'app-worker.service');
    expect(worked?.signals.map(([name]) => name)).toEqual(['TERM']);
  });

  it('reports the target as an error, with exit 2, when systemctl is missing', async () => {
    const policy = box.policy({ version: 1, targets: [{ name: 'q', systemd: 'worker@*' }] });

    const run = await runAgent(['drain', '--config', policy, '--state-dir', box.stateDir], {
      env: { PATH: '/nonexistent' },
    });

    expect(run.report.targets[0]).toMatchObject({
      outcome: 'error',
      error: expect.stringMatching(/systemctl .*ENOENT/),
    });
    expect(run.code).toBe(2);
  });
});

describe('docker target (recording stand-in docker CLI)', () => {
  const id = (n: number) => String(n).repeat(64).slice(0, 64);

  it('turns the restart policy off, then signals the labelled containers only', async () => {
    const labelled = await box.start('graceful-worker.mjs');
    const unlabelled = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        containers: {
          [id(1)]: { pid: labelled.pid, name: 'jobs', labels: { drain: 'true' } },
          [id(2)]: { pid: unlabelled.pid, name: 'db', labels: {} },
        },
      }),
    );
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'jobs', docker: { label: 'drain=true' }, preset: 'celery' }],
    });

    const run = await drain(policy);

    expect(run.code).toBe(0);
    expect(run.report.targets[0]).toMatchObject({
      kind: 'docker',
      outcome: 'drained',
      processes: [expect.objectContaining({ pid: labelled.pid })],
    });
    const verbs = calls().map((c) => c.argv.join(' '));
    expect(verbs.indexOf(`update --restart=no -- ${id(1)}`)).toBeGreaterThan(-1);
    expect(verbs.indexOf(`update --restart=no -- ${id(1)}`)).toBeLessThan(
      verbs.indexOf(`kill --signal=TERM -- ${id(1)}`),
    );
    expect(box.signalsOf(labelled.pid as number)).toEqual(['SIGTERM']);
    expect(box.signalsOf(unlabelled.pid as number)).toEqual([]);
  });

  const restartOf = (container: string): string =>
    JSON.parse(readFileSync(env.STANDIN_STATE as string, 'utf8')).containers[container].restart ?? 'no';

  it('restores each restart policy once the containers have stopped (recording stand-in docker)', async () => {
    // Regression: `docker update --restart=no` is permanent, so a warm-pool instance started again got none of
    // its containers back at boot.
    const always = await box.start('graceful-worker.mjs');
    const retries = await box.start('graceful-worker.mjs');
    const none = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        containers: {
          [id(1)]: { pid: always.pid, name: 'a', labels: { drain: 'true' }, restart: 'always' },
          [id(2)]: { pid: retries.pid, name: 'b', labels: { drain: 'true' }, restart: 'on-failure:3' },
          [id(4)]: { pid: none.pid, name: 'c', labels: { drain: 'true' } },
        },
      }),
    );
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'jobs', docker: { label: 'drain=true' }, schedule: 'TERM/10s/KILL/5s' }],
    });

    const run = await drain(policy);

    expect(run.code).toBe(0);
    expect([restartOf(id(1)), restartOf(id(2)), restartOf(id(4))]).toEqual(['always', 'on-failure:3', 'no']);
    const argvs = calls().map((c) => c.argv.join(' '));
    const inspectPolicies = argvs.findIndex((a) => a.startsWith('inspect') && a.includes('RestartPolicy'));
    const holdAt = argvs.findIndex((a) => a.startsWith('update --restart=no'));
    const restoreAt = argvs.indexOf(`update --restart=always -- ${id(1)}`);
    expect(argvs.filter((a) => a.includes('RestartPolicy'))).toHaveLength(1); // one call for every container
    expect(inspectPolicies).toBeGreaterThan(-1);
    expect(inspectPolicies).toBeLessThan(holdAt);
    expect(holdAt).toBeLessThan(argvs.indexOf(`kill --signal=TERM -- ${id(1)} ${id(2)} ${id(4)}`));
    // Restored only after the last look at the containers, the one that found them stopped.
    expect(restoreAt).toBeGreaterThan(holdAt);
    expect(argvs.slice(restoreAt).some((a) => a.includes('.State.Running'))).toBe(false);
    expect(argvs).toContain(`update --restart=on-failure:3 -- ${id(2)}`);
    expect(argvs.filter((a) => a.startsWith('update'))).toHaveLength(3);
  });

  it('an interrupted drain restores the containers that stopped and leaves a running one at no (recording stand-in docker)', async () => {
    // Regression: the policy went back on a container still running, and docker would restart it under that
    // policy once it exits, on an instance being terminated.
    const stubborn = await box.start('ignores-term.mjs');
    const graceful = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        containers: {
          [id(5)]: { pid: stubborn.pid, name: 'a', labels: { drain: 'true' }, restart: 'unless-stopped' },
          [id(3)]: { pid: graceful.pid, name: 'b', labels: { drain: 'true' }, restart: 'always' },
        },
      }),
    );
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'jobs', docker: { label: 'drain=true' }, schedule: 'TERM/10m/KILL/5s' }],
    });
    const agent = startAgent(['drain', '--config', policy, '--id', 'sup-1', '--state-dir', box.stateDir], {
      env,
    });
    await box.waitFor(() => box.signalsOf(stubborn.pid as number).length === 1);
    await box.waitFor(() => !isAlive(graceful.pid as number));
    expect([restartOf(id(5)), restartOf(id(3))]).toEqual(['no', 'no']);

    agent.child.kill('SIGTERM');
    const run = await agent.done;

    expect(run.code).toBe(4);
    expect([restartOf(id(5)), restartOf(id(3))]).toEqual(['no', 'always']);
    expect(run.stderr).toMatch(
      new RegExp(
        `"level":"warn","message":"restart policy left at no: the container is still running"[^\n]*${id(5)}`,
      ),
    );
    expect(calls().map((c) => c.argv.join(' '))).not.toContain(`update --restart=unless-stopped -- ${id(5)}`);
    // Still recorded: whoever looks at the instance (or a later drain) knows what the container had.
    const state = JSON.parse(readFileSync(join(box.stateDir, 'sup-1.json'), 'utf8'));
    expect(state.restartPolicies).toEqual({ jobs: { [id(5)]: 'unless-stopped' } });
  });

  it('logs a failed restore and still reports the drain (recording stand-in docker)', async () => {
    const worker = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        failWhen: '^update --restart=always',
        containers: { [id(6)]: { pid: worker.pid, name: 'jobs', labels: {}, restart: 'always' } },
      }),
    );
    const policy = box.policy({ version: 1, targets: [{ name: 'jobs', docker: { name: 'jobs' } }] });

    const run = await drain(policy);

    expect(run.code).toBe(0);
    // The report says so too, not only the log (the target's work is done: its outcome stands).
    expect(run.report.targets[0]).toMatchObject({
      outcome: 'drained',
      error: expect.stringMatching(/^restart policy always not restored: docker update .*stand-in failure/),
    });
    expect(run.stderr).toMatch(
      /"level":"warn","message":"cannot restore the restart policy[^\n]*stand-in failure/,
    );
    expect(restartOf(id(6))).toBe('no');
  });

  it('a container that got TERM from an agent that died before recording it gets no graceful signal again under a new policy (recording stand-in docker)', async () => {
    // Regression: the state is saved before a signal and again after it; an agent that died in between left
    // no record of the TERM, so a successor under a changed schedule sent the container QUIT and TERM again.
    const stubborn = await box.start('ignores-term.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        // The stand-in sends the TERM, then kills the agent: the signal is out, its record is not.
        crashWhen: '^kill --signal=TERM',
        containers: { [id(9)]: { pid: stubborn.pid, name: 'jobs', labels: {}, restart: 'always' } },
      }),
    );
    const target = { name: 'jobs', docker: { name: 'jobs' } };
    const before = box.policy({ version: 1, targets: [{ ...target, schedule: 'TERM/10m/KILL/5s' }] });
    const first = await drain(before);
    expect(first.code).toBeNull();
    // The worker records the TERM from its handler, which may run after the agent is gone.
    await box.waitFor(() => box.signalsOf(stubborn.pid as number).length > 0);
    expect(box.signalsOf(stubborn.pid as number)).toEqual(['SIGTERM']);
    const after = box.policy({
      version: 1,
      targets: [{ ...target, schedule: 'QUIT/300ms/TERM/300ms/KILL/5s' }],
    });

    const second = await drain(after);

    expect(second.stderr).toContain('the policy changed since this drain began');
    expect(box.signalsOf(stubborn.pid as number)).toEqual(['SIGTERM']);
    expect(second.report.targets[0]?.processes.map((p) => p.signals.map(([name]) => name))).toEqual([
      ['KILL'],
    ]);
    expect(second.code).toBe(3);
    expect(restartOf(id(9))).toBe('always');
  });

  it('the stand-in docker answers inspect without --format as docker does: a JSON array', () => {
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        containers: { [id(1)]: { pid: process.pid, name: 'jobs', labels: {}, restart: 'on-failure:2' } },
      }),
    );

    const stdout = execFileSync(join(FIXTURES, 'bin', 'docker'), ['inspect', '--', id(1)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });

    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({
        Id: id(1),
        State: expect.objectContaining({ Running: true, Pid: process.pid }),
        HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } },
      }),
    ]);
  });

  it('a successor restores the policies its dead predecessor turned off (recording stand-in docker)', async () => {
    // One container stops while no agent runs, so the successor does not find it; the other still runs, so
    // the successor finds its policy at `no`. Only the drain state still knows what either had.
    const stops = await box.start('ignores-term.mjs');
    const stays = await box.start('ignores-term.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        containers: {
          [id(7)]: { pid: stops.pid, name: 'a', labels: { drain: 'true' }, restart: 'always' },
          [id(8)]: { pid: stays.pid, name: 'b', labels: { drain: 'true' }, restart: 'on-failure:5' },
        },
      }),
    );
    const policy = box.policy({
      version: 1,
      targets: [{ name: 'jobs', docker: { label: 'drain=true' }, schedule: 'TERM/10m/KILL/1s' }],
    });
    const args = ['drain', '--config', policy, '--id', 'sup-1', '--state-dir', box.stateDir];
    const first = startAgent(args, { env });
    await box.waitFor(() => box.signalsOf(stays.pid as number).length === 1);
    first.child.kill('SIGKILL');
    await first.done;
    process.kill(stops.pid as number, 'SIGKILL');
    await box.waitFor(() => !isAlive(stops.pid as number));
    expect([restartOf(id(7)), restartOf(id(8))]).toEqual(['no', 'no']);

    // The deadline cuts the 10-minute wait short: the successor goes on to KILL.
    const second = await runAgent([...args, '--deadline', '3s'], { env });

    expect(second.stderr).toContain('resuming a drain whose agent died');
    expect(second.code).toBe(3);
    expect([restartOf(id(7)), restartOf(id(8))]).toEqual(['always', 'on-failure:5']);
    expect(box.signalsOf(stays.pid as number)).toEqual(['SIGTERM']);
  });

  it('plan finds containers without changing their restart policy', async () => {
    const labelled = await box.start('graceful-worker.mjs');
    writeFileSync(
      env.STANDIN_STATE as string,
      JSON.stringify({
        containers: { [id(3)]: { pid: labelled.pid, name: 'jobs', labels: { drain: 'true' } } },
      }),
    );
    const policy = box.policy({ version: 1, targets: [{ name: 'jobs', docker: { name: 'jobs' } }] });

    const run = await runAgent(['plan', '--config', policy], { env });

    expect((parseJson(run.stdout) as PlanOutput).targets[0]?.processes).toEqual([
      { pid: labelled.pid, command: id(3) },
    ]);
    expect(calls().map((c) => c.argv[0])).toEqual(['ps', 'inspect']);
    expect(existsSync(join(box.dir, 'run-systemd'))).toBe(false);
  });
});
