// The plan's stdout as the agent prints it and the operator CLI reads it back (common/plan-output.ts), and the
// agent's bound on its size (agent/cli/plan.ts, fitPlan).

import { describe, expect, it } from 'vitest';
import { fitPlan } from '../../agent/cli/plan.js';
import { AGENT_STDOUT_MAX_BYTES, SSM_STDOUT_MAX_BYTES } from '../../agent/report/report.js';
import {
  formatPlanOutput,
  isPlanComment,
  type PlanOutput,
  parsePlanOutput,
  planComment,
  unmatchedTargets,
} from '../../common/plan-output.js';

const PLAN: PlanOutput = {
  version: 1,
  targets: [
    {
      name: 'workers',
      kind: 'process',
      schedule: 'TERM/10m/KILL/5s',
      after: [],
      matches: 2,
      processes: [
        { pid: 41, command: 'celery worker', matched: true },
        { pid: 42, command: 'celery worker child', matched: false },
      ],
    },
    {
      name: 'renamed',
      kind: 'process',
      schedule: 'TERM/1m',
      after: ['workers'],
      matches: 0,
      unmatched: true,
      processes: [],
    },
    {
      name: 'jobs',
      kind: 'docker',
      schedule: 'TERM/1m',
      after: [],
      matches: 0,
      processes: [],
      error: 'docker: not found',
    },
  ],
};

describe('parsePlanOutput', () => {
  it('reads back what the agent prints: the summary, the plan, the unmatched targets', () => {
    const stdout = formatPlanOutput(PLAN);
    expect(stdout.split('\n')[0]).toBe('fleet-drain-plan v1 targets=3 unmatched=1 errors=1');
    const parsed = parsePlanOutput(stdout);
    expect(parsed).toEqual({
      summary: { targets: 3, unmatched: 1, errors: 1 },
      plan: PLAN,
      truncated: false,
    });
    expect(unmatchedTargets(parsed.plan as PlanOutput)).toEqual(['renamed']);
  });

  it('keeps the summary of an output SSM cut, and says it was cut', () => {
    const stdout = formatPlanOutput(PLAN);
    const cut = `${stdout.slice(0, stdout.indexOf('\n') + 40)}\n--output truncated--`;
    expect(parsePlanOutput(cut)).toEqual({
      summary: { targets: 3, unmatched: 1, errors: 1 },
      plan: undefined,
      truncated: true,
    });
  });

  it('names what is wrong with an output that is no plan', () => {
    expect(() => parsePlanOutput('')).toThrow(
      /no plan \(no "fleet-drain-plan v1" line\).*redeploy the stack/,
    );
    expect(() => parsePlanOutput('fleet-drain v1 outcome=drained exit=0 id=x joined=0\n{}')).toThrow(
      /no plan/,
    );
    expect(() =>
      parsePlanOutput('fleet-drain-plan v1 targets=1 unmatched=0 errors=0\n{"version":1}'),
    ).toThrow(/not a plan \(its JSON lacks version or targets\)/);
  });
});

describe('the plan comment', () => {
  it('is one the drainer Lambda tells from a drain comment, within SendCommand 100 characters', () => {
    expect(planComment('i-0123456789abcdef0')).toBe('fleet-drainer:plan i-0123456789abcdef0');
    expect(planComment('i-0123456789abcdef0').length).toBeLessThanOrEqual(100);
    expect(isPlanComment(planComment('i-0123456789abcdef0'))).toBe(true);
    expect(isPlanComment('fleet-drainer:2 87654321-4321-4321-4321-210987654321 web')).toBe(false);
    expect(isPlanComment('fleet-drainer:planned')).toBe(false);
    expect(isPlanComment(undefined)).toBe(false);
  });
});

describe('fitPlan', () => {
  it('keeps a plan of 5,000 processes with long commands under what SSM keeps, with every target and flag', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({
      pid: 1000 + i,
      command: `/usr/bin/python3 -m celery worker --hostname=w${i}@host ${'x'.repeat(200)}`,
      matched: i % 2 === 0,
    }));
    const big: PlanOutput = {
      ...PLAN,
      targets: PLAN.targets.map((target, index) =>
        index === 0 ? { ...target, matches: many.length, processes: many } : target,
      ),
    };
    const fitted = fitPlan(big);
    const stdout = formatPlanOutput(fitted);
    expect(Buffer.byteLength(stdout)).toBeLessThanOrEqual(AGENT_STDOUT_MAX_BYTES);
    expect(Buffer.byteLength(stdout)).toBeLessThan(SSM_STDOUT_MAX_BYTES);
    const [workers, renamed] = fitted.targets;
    expect(workers?.matches).toBe(5_000);
    expect((workers?.processes.length ?? 0) + (workers?.omitted ?? 0)).toBe(5_000);
    expect(workers?.processes.every((p) => p.matched)).toBe(true);
    expect(renamed?.unmatched).toBe(true);
    expect(parsePlanOutput(stdout).truncated).toBe(false);
  });

  it('leaves a plan that fits as it is', () => {
    expect(fitPlan(PLAN)).toBe(PLAN);
  });
});
