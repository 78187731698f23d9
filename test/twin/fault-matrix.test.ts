// The fault matrix, end to end: each scenario of twin/scenarios.ts with the real synthesized
// template, the real handler, document and agent, and demo workers in PID namespaces. Each asserts the four
// checks: no instance stranded, no action completed before its workers stopped (unless the outcome says
// why), no worker signalled twice, and exactly one `Fleet Drain Finished` per drain with the expected
// outcome — all made by the drill's own checks (twin/drill.ts), whose problems must be none.

import { describe, expect, it } from 'vitest';
import { SteppedClock } from '../../twin/clock';
import { DRILL_GROUP, runFleet } from '../../twin/drill';
import { isolationMode } from '../../twin/instances';
import { runScenario, SCENARIOS } from '../../twin/scenarios';

describe.runIf(isolationMode() === 'pid-namespace')('the fault matrix', () => {
  // The Spot scenarios run in spot-scenarios.test.ts, in parallel with this file.
  for (const scenario of SCENARIOS.filter((candidate) => candidate.needs === undefined)) {
    it(`${scenario.name}: ${scenario.proves}`, { timeout: scenario.timeoutMs ?? 90_000 }, async () => {
      const lines: string[] = [];

      const result = await runScenario(scenario.name, (line) => lines.push(line));

      expect(result.problems, lines.join('\n')).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.instances.length).toBeGreaterThan(0);
      for (const instance of result.instances) expect(instance.result).toMatch(/^(CONTINUE|ABANDON)$/);
      expect(lines.at(-1)).toMatch(/^Drill passed/);
    });
  }
});

describe.runIf(isolationMode() === 'pid-namespace')("the matrix's checks", () => {
  it('catch a stranded instance, a worker signalled twice, an early completion and a second Finished event', {
    timeout: 60_000,
  }, async () => {
    const lines: string[] = [];
    // No drainer at all: the hook times out on one instance; a fake drainer completes the other at once.
    const result = await runFleet(
      {
        instances: 2,
        twin: { clock: new SteppedClock(1200), handler: 'none', heartbeatTimeoutSeconds: 60 },
        workers: () => [{ kind: 'stuck' }],
        scaleIn: ({ twin, instances }) => {
          twin.autoScaling.setDesiredCapacity(DRILL_GROUP, 0);
          return instances;
        },
        during: async ({ twin, instances }) => {
          const [stranded, early] = instances as [string, string];
          twin.signalProcesses(stranded, /demo-worker\.mjs stuck/, 'SIGTERM');
          await new Promise((resolve) => setTimeout(resolve, 200));
          twin.signalProcesses(stranded, /demo-worker\.mjs stuck/, 'SIGTERM');
          const hookName = twin.template.hooks[0]?.hookName as string;
          twin.autoScaling.completeAction(
            { groupName: DRILL_GROUP, hookName, instanceId: early },
            'CONTINUE',
          );
          for (let copy = 0; copy < 2; copy += 1) {
            twin.bus.publish({
              version: '0',
              id: `fake-${copy}`,
              'detail-type': 'Fleet Drain Finished',
              source: 'fleet-drainer',
              account: '123456789012',
              time: new Date().toISOString(),
              region: 'us-west-2',
              resources: [],
              detail: { instanceId: early, outcome: 'drained', lifecycleActionResult: 'CONTINUE' },
            });
          }
        },
        expected: () => ['drained'],
        timeoutMs: 5000,
      },
      (line) => lines.push(line),
    );

    expect(result.ok).toBe(false);
    const text = result.problems.join('\n');
    expect(text).toMatch(/stranded: the action ended by heartbeat-timeout/);
    expect(text).toMatch(/no Fleet Drain Finished event/);
    expect(text).toMatch(/got SIGTERM, SIGTERM/);
    expect(text).toMatch(/completed while worker\(s\) \d+ may still run/);
    expect(text).toMatch(/2 Fleet Drain Finished events/);
    expect(lines).toContain('Drill FAILED:');
  });
});
