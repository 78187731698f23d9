// `fleet-drainer drill` end to end: the real stack, Lambda, document, agent and demo workers in the twin.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../twin/drill';
import { isolationMode } from '../../twin/instances';

const CLI = fileURLToPath(new URL('../../dist/fleet-drainer.js', import.meta.url));

describe.runIf(isolationMode() === 'pid-namespace')('the drill', () => {
  it('drains the scaled-in instances: TERM to every worker, KILL only to the stuck one, all completed', {
    timeout: 90_000,
  }, async () => {
    const lines: string[] = [];

    const result = await runDrill({ instances: 3, scaleIn: 2, print: (line) => lines.push(line) });

    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.instances).toHaveLength(2);
    for (const instance of result.instances) {
      expect(instance).toMatchObject({ outcome: 'forced', result: 'CONTINUE', signals: 'TERM×3 KILL×1' });
      expect(instance.completionLatencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(lines.at(-1)).toMatch(/^Drill passed/);
    expect(lines.filter((line) => line.includes('lifecycle action completed CONTINUE'))).toHaveLength(2);
  });
});

describe('the fleet-drainer command line', () => {
  it.each([
    [['drill', '--instances', '0'], /--instances must be a whole number from 1 to 20, got "0"/],
    [['drill', '--instances', '2', '--scale-in', '3'], /--scale-in must be a whole number from 1 to 2/],
    [['drlil'], /unknown command "drlil"/],
    [['drill', '--scenario', 'nope'], /--scenario must be one of duplicate-event, .* or all, got "nope"/],
    [['drill', '--scenario', 'all', '--instances', '2'], /--scenario sets its own fleet/],
    [[], /no command given/],
  ])('%j is a usage error (exit 64)', async (args, message) => {
    const error = await promisify(execFile)(process.execPath, [CLI, ...args]).catch((e) => e);
    expect(error.code).toBe(64);
    expect(error.stderr).toMatch(message);
  });
});
