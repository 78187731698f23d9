// Prepare, stop and finally commands: bounded by their timeout whatever they leave behind.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runCommand } from '../../agent/host/run-command.js';

const daemons: number[] = [];
afterEach(() => {
  for (const pid of daemons.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
});

it('returns when the program exits, even if a daemon it started (setsid) keeps its output open', async () => {
  // Regression: waiting for the pipes to close hung the drain for as long as the daemon lived.
  const pidfile = join(mkdtempSync(join(tmpdir(), 'fleet-drain-rc-')), 'daemon.pid');

  const result = await runCommand(
    ['sh', '-c', `setsid sleep 30 & echo $! > ${pidfile}; echo started`],
    20_000,
  );

  daemons.push(Number(readFileSync(pidfile, 'utf8')));
  expect(result).toMatchObject({ exitCode: 0, timedOut: false, stdout: 'started\n' });
});

it('kills the whole process group at the timeout', async () => {
  const result = await runCommand(['sh', '-c', 'sleep 30 & sleep 30'], 300);

  expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
});

it('says why a program could not start', async () => {
  const result = await runCommand(['/nonexistent/program'], 1_000);

  expect(result).toMatchObject({ exitCode: null, spawnError: 'ENOENT' });
});
