// Parsing the agent's report from SSM's stdout and mapping results to outcomes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/exit-codes';
import { decideOutcome, decideResult, type InvocationResult } from '../../lambda/decide-outcome';
import { parseReport } from '../../lambda/parse-report';
import { reportJson, TOKEN } from './helpers';

const base: InvocationResult = {
  status: 'Success',
  statusDetails: 'Success',
  responseCode: 0,
  stdout: '',
  stderr: '',
};

describe('parseReport', () => {
  it('reads the one-line report', () => {
    expect(parseReport(`${reportJson()}\n`)?.outcome).toBe('drained');
  });

  it('reads the report among the document’s own lines', () => {
    expect(
      parseReport(`fleet-drain: starting\n${reportJson({ outcome: 'forced' })}\nfleet-drain: done\n`)
        ?.outcome,
    ).toBe('forced');
  });

  it('reads a pretty-printed report after other lines', () => {
    const pretty = JSON.stringify(JSON.parse(reportJson({ outcome: 'incomplete' })), null, 2);
    expect(parseReport(`note: something\n${pretty}\n`)?.outcome).toBe('incomplete');
  });

  it.each([
    ['empty', ''],
    ['whitespace', '  \n '],
    ['not JSON', 'fleet-drain: node not found\n'],
    ['truncated at 24,000 characters', reportJson({ targets: 'x'.repeat(30_000) }).slice(0, 24_000)],
    ['another version', reportJson({ version: 2 })],
    ['an unknown outcome', reportJson({ outcome: 'exploded' })],
    ['an array', '[1,2,3]'],
    ['JSON null', 'null'],
  ])('returns undefined for %s', (_, stdout) => {
    expect(parseReport(stdout)).toBeUndefined();
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        parseReport(text);
        parseReport(`{${text}}`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decideOutcome', () => {
  it('uses the exit codes of agent/exit-codes.ts', () => {
    const at = (code: number) =>
      decideOutcome({ ...base, status: 'Failed', responseCode: code }, TOKEN).outcome;
    expect(at(EXIT.drained)).toBe('drained');
    expect(at(EXIT.forced)).toBe('forced');
    expect(at(EXIT.incomplete)).toBe('incomplete');
    expect(at(EXIT.interrupted)).toBe('incomplete');
    expect(at(EXIT.usage)).toBe('failed');
    expect(at(EXIT.internal)).toBe('failed');
    expect(at(EXIT.config)).toBe('failed');
    expect(at(1)).toBe('failed');
  });

  it('prefers the report over the exit code', () => {
    const decision = decideOutcome(
      { ...base, responseCode: 2, stdout: reportJson({ outcome: 'forced' }) },
      TOKEN,
    );
    expect(decision.outcome).toBe('forced');
    expect(decision.report?.id).toBe(TOKEN);
  });
});

describe('decideResult', () => {
  it.each([
    ['drained', 'CONTINUE', 'CONTINUE'],
    ['incomplete', 'CONTINUE', 'CONTINUE'],
    ['failed', 'CONTINUE', 'CONTINUE'],
    ['incomplete', 'ABANDON_ON_FAILURE', 'ABANDON'],
    ['failed', 'ABANDON_ON_FAILURE', 'ABANDON'],
    ['forced', 'ABANDON_ON_FAILURE', 'CONTINUE'],
    ['unreachable', 'ABANDON_ON_FAILURE', 'CONTINUE'],
    ['skipped', 'ABANDON_ON_FAILURE', 'CONTINUE'],
    ['expired', 'ABANDON_ON_FAILURE', 'CONTINUE'],
  ] as const)('%s under %s → %s', (outcome, policy, result) => {
    expect(decideResult(outcome, policy)).toBe(result);
  });
});
