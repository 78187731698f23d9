// `npm run drill` until the local twin lands: drains a small set of demo workers on this machine with the
// real agent bundle and prints what happened to each. Exits non-zero if a worker was left running, was
// signalled twice with its graceful signal, or lost its job.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const dir = mkdtempSync(join(tmpdir(), 'fleet-drain-drill-'));
const log = join(dir, 'workers.log');
writeFileSync(log, '');
const tag = `drill${process.pid}`;

// Demo workers: a queue worker that finishes its job on TERM, a slow one, one that needs KILL, and a
// lava-style one for which a second HUP would abort the job.
const workers = {
  'queue-worker': `process.on('SIGTERM', () => { rec('TERM'); setTimeout(() => { rec('job done'); process.exit(0); }, 400); });`,
  'slow-worker': `process.on('SIGTERM', () => { rec('TERM'); setTimeout(() => { rec('job done'); process.exit(0); }, 1500); });`,
  'stuck-worker': `process.on('SIGTERM', () => rec('TERM (ignored)'));`,
  'lava-worker': `let n = 0; process.on('SIGHUP', () => { rec(++n === 1 ? 'HUP' : 'HUP (abort!)'); if (n === 1) setTimeout(() => { rec('job done'); process.exit(0); }, 800); else process.exit(1); });`,
};
const prelude = `const fs = require('fs'); const rec = (e) => fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ pid: process.pid, e }) + '\\n'); setInterval(() => {}, 1e9); rec('ready');`;
const children = Object.entries(workers).map(([name, body]) =>
  spawn(process.execPath, ['-e', prelude + body, `${tag}-${name}`], { stdio: 'ignore', detached: true }),
);
const events = () =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
while (events().filter((e) => e.e === 'ready').length < children.length) await sleep(20);

const policy = {
  version: 1,
  targets: [
    { name: 'queue', match: { cmdline: `${tag}-(queue|slow)-worker` }, schedule: 'TERM/5s/KILL/2s' },
    { name: 'stuck', match: { cmdline: `${tag}-stuck-worker` }, schedule: 'TERM/1s/KILL/2s' },
    { name: 'lava', match: { cmdline: `${tag}-lava-worker` }, preset: 'lava' },
  ],
};
console.log('Draining 4 demo workers with dist/fleet-drain-agent.js …\n');
const agent = spawn(
  process.execPath,
  [
    'dist/fleet-drain-agent.js',
    'drain',
    '--config-b64',
    Buffer.from(JSON.stringify(policy)).toString('base64'),
    '--id',
    `drill-${process.pid}`,
    '--state-dir',
    join(dir, 'state'),
    '--deadline',
    '1m',
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FLEET_DRAIN_LOG_LEVEL: 'warn' },
  },
);
let stdout = '';
agent.stdout.on('data', (chunk) => {
  stdout += chunk;
});
const code = await new Promise((resolve) => agent.on('close', resolve));
const report = JSON.parse(stdout);

let failures = 0;
const rows = [['target', 'pid', 'worker saw', 'agent sent', 'exited after', 'forced']];
for (const target of report.targets) {
  for (const p of target.processes) {
    const seen = events()
      .filter((e) => e.pid === p.pid && e.e !== 'ready')
      .map((e) => e.e);
    if (seen.some((e) => e.includes('abort'))) failures++;
    if (p.exitedAfterMs === null) failures++;
    rows.push([
      target.name,
      String(p.pid),
      seen.join(', '),
      p.signals.map(([s, at]) => `${s}@${at}ms`).join(' '),
      p.exitedAfterMs === null ? 'RUNNING' : `${p.exitedAfterMs} ms`,
      p.forced ? 'yes' : 'no',
    ]);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
console.log(`\noutcome ${report.outcome}, exit code ${code}, ${report.durationMs} ms`);
for (const child of children) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}
rmSync(dir, { recursive: true, force: true });
if (failures > 0 || code !== 3) {
  console.error(
    `drill failed: ${failures} worker(s) left running or aborted, exit code ${code} (expected 3: the stuck worker needs KILL)`,
  );
  process.exit(1);
}
