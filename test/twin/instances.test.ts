// Instances as PID namespaces: the script runs inside, sees only the instance's processes, and dies with it.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../twin/commands';
import { InstanceHost, isolationMode } from '../../twin/instances';

const hosts: InstanceHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.stop();
});

function runIn(host: InstanceHost, script: string, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => host.run(script, env, resolve));
}

describe.runIf(isolationMode() === 'pid-namespace')('an instance', () => {
  it('runs the script inside its own PID namespace, next to its workers, with its own state dir', async () => {
    const host = await InstanceHost.boot('i-0123456789abcdef0', [{ command: ['sleep', '300'] }]);
    hosts.push(host);
    const result = await runIn(
      host,
      'echo "$SSM_drainId"; ps -eo pid=,args= | sort -n; ls -A /run/fleet-drainer; exit 3',
      {
        SSM_drainId: 'abc',
      },
    );
    expect(result.exitCode).toBe(3);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('abc');
    expect(lines[1]).toMatch(/^\s*1 bash -c/);
    expect(result.stdout).toContain('sleep 300');
    expect(result.stdout).not.toContain('vitest');
  });

  it('kills everything in it when it vanishes, and never reports the run', async () => {
    const host = await InstanceHost.boot('i-0123456789abcdef1', [{ command: ['sleep', '300'] }]);
    hosts.push(host);
    let reported = false;
    host.run('sleep 300', {}, () => {
      reported = true;
    });
    host.vanish();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(host.alive).toBe(false);
    expect(reported).toBe(false);
  });
});

describe('the fallback without namespaces', () => {
  it('runs the script in its own process group, with a private state dir for the document', async () => {
    const host = await InstanceHost.boot(
      'i-0123456789abcdef2',
      [{ command: ['sleep', '300'] }],
      'process-group',
    );
    hosts.push(host);
    const result = await runIn(host, 'echo "$FLEET_DRAIN_STATE_DIR"; ps -o pgid= -p $$');
    const [stateDir, pgid] = result.stdout.trim().split('\n');
    expect(stateDir).toContain('fleet-twin-');
    // Not the test process's own group: the script leads a group of its own.
    const ownGroup = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[2]);
    expect(Number(pgid)).not.toBe(ownGroup);
    host.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(host.alive).toBe(false);
  });
});

describe('a script’s output', () => {
  it('keeps a character whose bytes arrive in two reads', async () => {
    const host = await InstanceHost.boot('i-0123456789abcdef3', [], 'process-group');
    hosts.push(host);
    // "é" is C3 A9: the pause puts its two bytes in separate pipe reads.
    const result = await runIn(host, "printf 'caf\\303'; sleep 0.3; printf '\\251\\n'");
    expect(result.stdout).toBe('café\n');
  });
});
