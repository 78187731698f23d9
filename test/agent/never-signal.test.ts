// A policy that matches every process, run inside a fresh PID namespace: the agent must signal the workers
// and nothing else — not PID 1, not the shells it was started from, not itself.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DrainReport } from '../../agent/report/report.js';
import { AGENT, AGENT_NODE, canUnshare, FIXTURES, parseJson, Sandbox } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(() => box.cleanup());

it.runIf(canUnshare)('a match-everything policy in a PID namespace signals only the workers', () => {
  const policy = Buffer.from(
    JSON.stringify({
      version: 1,
      targets: [{ name: 'everything', match: { cmdline: '.*' }, scope: 'all', schedule: 'TERM/1s/KILL/2s' }],
    }),
  ).toString('base64');
  const out = (name: string) => join(box.dir, name);
  const script = `
    node ${FIXTURES}/graceful-worker.mjs ${box.tag} &
    node ${FIXTURES}/ignores-term.mjs ${box.tag} &
    while [ "$(grep -c ready ${box.log})" -lt 2 ]; do sleep 0.05; done
    sh -c '${AGENT_NODE} ${AGENT} drain --config-b64 ${policy} --id ns-1 --state-dir ${box.stateDir} > ${out('report.json')} 2> ${out('agent.log')}; echo $? > ${out('code')}'
    echo "$$ $(cat /proc/1/cmdline | tr '\\0' ' ')" > ${out('pid1')}
    wait
  `;

  execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script], {
    env: { ...process.env, FIXTURE_LOG: box.log },
    timeout: 20_000,
  });

  const report = parseJson(readFileSync(out('report.json'), 'utf8')) as DrainReport;
  const workers = box
    .records()
    .filter((r) => r.event === 'ready')
    .map((r) => r.pid);
  expect(readFileSync(out('code'), 'utf8').trim()).toBe('3'); // the shell that ran the agent survived it
  expect(readFileSync(out('pid1'), 'utf8')).toMatch(/^1 sh -c/); // PID 1 survived too
  expect(report.targets[0]?.processes.map((p) => p.pid).sort()).toEqual([...workers].sort());
  expect(
    box
      .records()
      .filter((r) => r.event === 'signal')
      .map((r) => r.signal),
  ).toEqual(['SIGTERM', 'SIGTERM']);
});
