// systemd and Docker targets, tested against recording stand-ins for `systemctl` and `docker` on PATH
// (no systemd as PID 1 and no Docker engine here). The units and containers are real fixture workers.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURES, isAlive, runAgent, Sandbox } from './helpers.js';

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

    expect(JSON.parse(run.stdout).targets[0].processes).toEqual([{ pid: labelled.pid, command: id(3) }]);
    expect(calls().map((c) => c.argv[0])).toEqual(['ps', 'inspect']);
    expect(existsSync(join(box.dir, 'run-systemd'))).toBe(false);
  });
});
