// The `operator` scenario end to end: the built command line (dist/fleet-drainer.js) run as child processes
// against the drill's stack in the twin, during a drain, after it and on an idle instance, plus the mistakes
// an operator makes. One twin and three instances for all of it; the scenario's own checks must find nothing.

import { describe, expect, it } from 'vitest';
import { isolationMode } from '../../twin/instances';
import { runScenario, SCENARIOS } from '../../twin/scenarios';

describe.runIf(isolationMode() === 'pid-namespace')('the operator scenario', () => {
  const scenario = SCENARIOS.find((candidate) => candidate.name === 'operator');

  it('runs status, report and plan as a user would, and each mistake fails in one line', {
    timeout: scenario?.timeoutMs ?? 180_000,
  }, async () => {
    const lines: string[] = [];

    const result = await runScenario('operator', (line) => lines.push(line));

    expect(result.problems, lines.join('\n')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.instances.map((instance) => instance.outcome)).toEqual(['forced']);
    expect(lines.filter((line) => line.startsWith('$ fleet-drainer '))).toHaveLength(11);
    expect(lines.at(-1)).toMatch(/^Drill passed/);
  });
});

it('is a scenario of its own, out of the fault matrix', () => {
  expect(SCENARIOS.filter((candidate) => candidate.needs === 'cli').map((s) => s.name)).toEqual(['operator']);
});
