// The Spot scenarios of the fault matrix, end to end on the wall clock (the agent's deadline is wall time,
// so each lasts up to the two minutes of a Spot notice): a file of their own, run beside fault-matrix.test.ts.
// Together they cover the Spot handling in all its parts: the construct's aws.ec2 rule, the Lambda's EC2
// events and the agent's earlier-deadline join and prepare action.

import { describe, expect, it } from 'vitest';
import { isolationMode } from '../../twin/instances';
import { runScenario, SCENARIOS } from '../../twin/scenarios';

// Concurrently: each waits out up to two minutes of wall clock on its own twin and instances, mostly idle.
describe.runIf(isolationMode() === 'pid-namespace').concurrent('the Spot scenarios', () => {
  for (const scenario of SCENARIOS.filter((candidate) => candidate.needs === 'spot')) {
    it(`${scenario.name}: ${scenario.proves}`, { timeout: scenario.timeoutMs ?? 90_000 }, async () => {
      const lines: string[] = [];

      const result = await runScenario(scenario.name, (line) => lines.push(line));

      expect(result.problems, lines.join('\n')).toEqual([]);
      expect(result.ok).toBe(true);
      expect(lines.at(-1)).toMatch(/^Drill passed/);
    });
  }
});

it('lists the three Spot scenarios', () => {
  expect(SCENARIOS.filter((scenario) => scenario.needs === 'spot').map((scenario) => scenario.name)).toEqual([
    'spot-interruption',
    'spot-after-lifecycle',
    'rebalance-prepare',
  ]);
});
