// A drain whose agent is killed as SSM kills it (SIGKILL to the command's whole process group, on a cancel or
// an execution timeout: amazon-ssm-agent agent/executers/executers_unix.go) is undone by its guardian: an
// instance that goes back into service from a warm pool must not keep containers that never restart,
// services held by a drop-in, or marker files. Runs in a PID namespace, against the recording stand-ins
// for docker and systemctl, with a real touched file.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AGENT, AGENT_NODE, canUnshare, FIXTURES, parseJson, runAgent, Sandbox } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

const CONTAINER = 'c'.repeat(64);

it.runIf(canUnshare)(
  'a SIGKILL of the whole process group leaves the guardian, which restores the host; a later drain of the same id makes its changes again and finishes',
  () => {
    const marker = join(box.dir, 'app', 'no-dispatch');
    mkdirSync(join(box.dir, 'app'));
    const runtimeDir = join(box.dir, 'run-systemd');
    const dropIn = join(runtimeDir, 'web.service.d', 'zz-fleet-drain.conf');
    const standinState = join(box.dir, 'standin.json');
    const policy = Buffer.from(
      JSON.stringify({
        version: 1,
        prepare: [{ touch: marker }],
        targets: [
          { name: 'web', systemd: 'web', schedule: 'TERM/60s/KILL/1s' },
          { name: 'jobs', docker: { label: 'drain=true' }, schedule: 'TERM/60s/KILL/1s' },
        ],
      }),
    ).toString('base64');
    const out = (name: string) => join(box.dir, name);
    const state = join(box.stateDir, 'warm-1.json');
    const drain = (deadline: string) =>
      `${AGENT_NODE} ${AGENT} drain --config-b64 ${policy} --id warm-1 --deadline ${deadline} --state-dir ${box.stateDir}`;
    // Waits (bounded: 600 × 50 ms) until the condition holds, else records what timed out.
    const until = (what: string, condition: string) =>
      `i=0; until ${condition}; do i=$((i + 1)); [ $i -gt 600 ] && { echo "${what}" >> ${out('timeouts')}; break; }; sleep 0.05; done`;
    const script = `
      node ${FIXTURES}/ignores-term.mjs ${box.tag} &
      web=$!
      node ${FIXTURES}/ignores-term.mjs ${box.tag} &
      job=$!
      ${until('fixtures', `[ "$(grep -c ready ${box.log})" -ge 2 ]`)}
      echo '{"units":{"web.service":'$web'},"containers":{"${CONTAINER}":{"pid":'$job',"name":"jobs","labels":{"drain":"true"},"restart":"always"}}}' > ${standinState}
      # As the SSM Agent runs a command: a shell in a process group of its own, the agent its child.
      setsid sh ${out('first.sh')} &
      group=$!
      ${until('signals', `[ "$(grep -o '"TERM",' ${state} 2>/dev/null | wc -l)" -ge 2 ]`)}
      cp ${standinState} ${out('standin-during.json')}
      [ -e ${dropIn} ] && echo yes > ${out('drop-in-during')}
      [ -e ${marker} ] && echo yes > ${out('marker-during')}
      kill -KILL -$group
      ${until('restore', `grep -q '"restored"' ${state} 2>/dev/null`)}
      ${until('guardian exit', `! grep -lz '^guard$' /proc/[0-9]*/cmdline >/dev/null 2>&1`)}
      for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done > ${out('processes-after-restore')}
      cp ${state} ${out('state-after-restore.json')}
      cp ${standinState} ${out('standin-after-restore.json')}
      [ -e ${dropIn} ] && echo yes > ${out('drop-in-after-restore')}
      [ -e ${marker} ] && echo yes > ${out('marker-after-restore')}
      # The same drain sent again: it goes on (no second TERM), holds restarts again, and finishes.
      sh ${out('second.sh')}
      [ -e ${marker} ] && echo yes > ${out('marker-after-second')}
      ${until('guardian exit after the second drain', `! grep -lz '^guard$' /proc/[0-9]*/cmdline >/dev/null 2>&1`)}
      for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done > ${out('processes-at-end')}
    `;
    // Scripts in files: a command line naming the agent would match other tests' policies (they run at once).
    writeFileSync(out('first.sh'), `${drain('120s')} > ${out('first.out')} 2> ${out('first.err')}\n`);
    writeFileSync(
      out('second.sh'),
      `${drain('3s')} > ${out('second.out')} 2> ${out('second.err')}; echo $? > ${out('second.code')}\n`,
    );
    writeFileSync(out('main.sh'), script);
    writeFileSync(standinState, '{"units":{},"containers":{}}');
    writeFileSync(out('standin.log'), '');

    execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', out('main.sh')], {
      env: {
        ...process.env,
        PATH: `${join(FIXTURES, 'bin')}:${process.env.PATH}`,
        FIXTURE_LOG: box.log,
        STANDIN_LOG: out('standin.log'),
        STANDIN_STATE: standinState,
        FLEET_DRAIN_SYSTEMD_RUNTIME_DIR: runtimeDir,
      },
      timeout: 60_000,
    });

    const read = (name: string) => (existsSync(out(name)) ? readFileSync(out(name), 'utf8') : '');
    const guardianLog = join(box.stateDir, 'guardian-warm-1.log');
    expect(
      read('timeouts'),
      existsSync(guardianLog) ? readFileSync(guardianLog, 'utf8') : 'no guardian log',
    ).toBe('');
    // While the drain ran: restarts held, marker touched.
    expect(JSON.parse(read('standin-during.json')).containers[CONTAINER].restart).toBe('no');
    expect(read('drop-in-during')).toBe('yes\n');
    expect(read('marker-during')).toBe('yes\n');
    // After the kill: the guardian put everything back and exited.
    expect(JSON.parse(read('standin-after-restore.json')).containers[CONTAINER].restart).toBe('always');
    expect(read('drop-in-after-restore')).toBe('');
    expect(read('marker-after-restore')).toBe('');
    expect(JSON.parse(read('state-after-restore.json'))).toMatchObject({
      status: 'running',
      restored: { markers: 1, dropIns: 1, containers: 1 },
      markers: [],
      dropIns: [],
    });
    expect(read('processes-after-restore')).not.toMatch(
      /^\S*node\S* \S*fleet-drain-agent\.js (drain|guard)/m,
    );
    const reloads = read('standin.log')
      .split('\n')
      .filter((line) => line.includes('daemon-reload'));
    expect(reloads.length).toBe(3); // the drain's hold, the guardian's restore, the second drain's hold
    // The second drain: the same schedule, no second TERM, the marker touched again, the policy put back.
    expect(read('second.code')).toBe('3\n');
    expect(parseJson(read('second.out'))).toMatchObject({ id: 'warm-1', outcome: 'forced' });
    expect(read('marker-after-second')).toBe('yes\n');
    expect(
      box
        .records()
        .filter((r) => r.event === 'signal')
        .map((r) => r.signal),
    ).toEqual(['SIGTERM', 'SIGTERM']);
    expect(read('processes-at-end')).not.toMatch(/fleet-drain-agent\.js (drain|guard)/);
  },
);

it('a guardian whose agent lives on stops at its bound, restoring nothing', async () => {
  // The agent is this test process (alive throughout): the guardian must still end, at --until.
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const until = new Date(Date.now() + 1_000).toISOString();

  const run = await runAgent([
    'guard',
    '--id',
    'bounded-1',
    '--state-dir',
    box.stateDir,
    '--pid',
    `${process.pid}:${startTime},0:0`,
    '--until',
    until,
  ]);

  expect(run.code).toBe(0);
  expect(run.stderr).toMatch(/"message":"guardian done: expired"/);
});

it('restore of a drain that is not there restores nothing and says why', async () => {
  const run = await runAgent(['restore', '--id', 'absent-1', '--state-dir', box.stateDir]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({ id: 'absent-1', restored: false, reason: 'no such drain' });
});
