// Parsing the agent's report from SSM's stdout and mapping results to outcomes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drainOutput } from '../../agent/report/compact-report';
import { EXIT } from '../../agent/report/exit-codes';
import type { DrainOutcome, DrainReport } from '../../agent/report/report';
import { formatSummary } from '../../agent/report/summary-line';
import { decideOutcome, decideResult, type InvocationResult } from '../../lambda/decide/outcome';
import { parseDrainOutput, parseReport } from '../../lambda/decide/parse-report';
import { reportJson, TOKEN } from './helpers';

/**
 * StandardOutputContent as the SSM Agent makes it: stdout whole while under 24,000 bytes, else its first
 * 23,980 bytes and `--output truncated--` (amazon-ssm-agent agent/plugins/pluginutil/pluginutil.go
 * StringPrefix, with iohandler.go's MaxStdoutLength and OutputTruncatedSuffix). A multi-byte character cut
 * in two comes back as U+FFFD.
 */
function ssmStdout(stdout: string): string {
  const bytes = Buffer.from(stdout);
  if (bytes.length < 24_000) return stdout;
  return `${bytes.subarray(0, 23_980).toString('utf8')}--output truncated--`;
}

const summaryOf = (outcome: DrainOutcome, exitCode: number, id = TOKEN) =>
  formatSummary({ ...(JSON.parse(reportJson()) as DrainReport), outcome, exitCode, id });

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

describe('parseDrainOutput', () => {
  it('reads the summary line, then the report', () => {
    const output = parseDrainOutput(`${summaryOf('forced', 3)}\n${reportJson({ outcome: 'forced' })}\n`);
    expect(output.summary).toEqual({ outcome: 'forced', exitCode: 3, id: TOKEN, joined: false });
    expect(output.report?.outcome).toBe('forced');
    expect(output.truncated).toBe(false);
  });

  it('takes the outcome from the summary line when SSM cut the report, and says so', () => {
    const big = reportJson({
      outcome: 'incomplete',
      targets: [{ name: 'w', command: '日本'.repeat(9_000) }],
    });
    const output = parseDrainOutput(ssmStdout(`${summaryOf('incomplete', 2)}\n${big}\n`));
    expect(output).toMatchObject({ summary: { outcome: 'incomplete', exitCode: 2 }, truncated: true });
    expect(output.report).toBeUndefined();
  });

  it('reads the JSON report alone, as documents of earlier versions printed it', () => {
    const output = parseDrainOutput(`${reportJson({ outcome: 'forced' })}\n`);
    expect(output).toMatchObject({ summary: undefined, report: { outcome: 'forced' }, truncated: false });
  });

  it('ignores a summary line that the cut reached', () => {
    const output = parseDrainOutput(`${summaryOf('drained', 0).slice(0, 30)}--output truncated--`);
    expect(output).toMatchObject({ summary: undefined, report: undefined, truncated: true });
  });

  it('yields the outcome from any stdout that SSM cut at 23,980 bytes', () => {
    // Whatever the agent printed after its summary line (multi-byte command lines, huge errors, a second
    // report), the cut output still says how the drain ended.
    const outcomes: DrainOutcome[] = ['drained', 'forced', 'incomplete', 'interrupted', 'nothing', 'error'];
    fc.assert(
      fc.property(
        fc.constantFrom(...outcomes),
        fc.array(fc.string({ unit: 'binary', maxLength: 400 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 3 }),
        (outcome, commands, padding) => {
          const report = {
            ...(JSON.parse(reportJson()) as DrainReport),
            outcome,
            targets: [
              {
                name: 'w',
                kind: 'process' as const,
                outcome: 'drained' as const,
                processes: commands.map((command, pid) => ({
                  pid,
                  command: command.repeat(1 + padding * 20),
                  signals: [],
                  exitedAfterMs: 1,
                  forced: false,
                })),
              },
            ],
          };
          const stdout = ssmStdout(`${formatSummary(report)}\n${JSON.stringify(report)}\n`);
          const decision = decideOutcome({ ...base, stdout }, TOKEN);
          const expected = {
            drained: 'drained',
            nothing: 'drained',
            forced: 'forced',
            incomplete: 'incomplete',
            interrupted: 'incomplete',
            error: 'failed',
            prepared: 'prepared',
          }[outcome];
          expect(decision.outcome).toBe(expected);
          expect(decision.summary?.outcome).toBe(outcome);
          if (Buffer.byteLength(stdout) >= 24_000) expect(decision.truncated).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('budgets in bytes, not characters: a report in Japanese that fits in characters is compacted', () => {
    // 16,000 characters but three bytes each: a budget in characters let it through, and SSM cut it.
    const report: DrainReport = {
      ...(JSON.parse(reportJson()) as DrainReport),
      outcome: 'forced',
      targets: [
        {
          name: 'w',
          kind: 'process',
          outcome: 'forced',
          processes: Array.from({ length: 150 }, (_, pid) => ({
            pid,
            command: `日本語のワーカー-${pid}-${'ü'.repeat(50)}`,
            signals: [['TERM', 1]],
            exitedAfterMs: 2,
            forced: true,
          })),
        },
      ],
    };
    expect(JSON.stringify(report).length).toBeLessThan(22_000);
    expect(Buffer.byteLength(JSON.stringify(report))).toBeGreaterThan(24_000);
    const stdout = drainOutput(report);
    expect(Buffer.byteLength(stdout)).toBeLessThan(24_000);
    expect(parseDrainOutput(stdout).report?.targets[0]?.processes.length).toBe(150);
  });

  it("keeps the agent's whole stdout under 24,000 bytes, whatever the report holds", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { minLength: 1, maxLength: 400 }),
        fc.string({ unit: 'binary', maxLength: 3_000 }),
        (commands, error) => {
          const report: DrainReport = {
            ...(JSON.parse(reportJson()) as DrainReport),
            outcome: 'incomplete',
            error,
            targets: commands.map((command, index) => ({
              name: `t${index}`,
              kind: 'process',
              outcome: 'incomplete',
              error,
              processes: [
                { pid: index, command, signals: [['TERM', 1]], exitedAfterMs: null, forced: false },
              ],
            })),
          };
          const stdout = drainOutput(report);
          expect(Buffer.byteLength(stdout)).toBeLessThan(24_000);
          expect(parseDrainOutput(stdout)).toMatchObject({
            summary: { outcome: 'incomplete' },
            truncated: false,
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('decideOutcome', () => {
  it('uses the exit codes of agent/report/exit-codes.ts when there is neither report nor summary line', () => {
    const at = (code: number) =>
      decideOutcome({ ...base, status: 'Failed', responseCode: code }, TOKEN).outcome;
    // What documents of earlier versions exited with after a forced drain (now 0, with the summary line).
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

  it('Success with a report of outcome forced is forced: the document exits 0 for every clear host', () => {
    const stdout = `${summaryOf('forced', 3)}\n${reportJson({ outcome: 'forced', exitCode: 3 })}\n`;
    const decision = decideOutcome({ ...base, status: 'Success', responseCode: 0, stdout }, TOKEN);
    expect(decision).toMatchObject({ outcome: 'forced', reason: 'agent reported forced' });
  });

  it('Success with only the summary line (the report cut) takes the summary line and flags the cut', () => {
    const stdout = ssmStdout(
      `${summaryOf('forced', 3)}\n${reportJson({ outcome: 'forced', pad: 'ü'.repeat(20_000) })}\n`,
    );
    const decision = decideOutcome({ ...base, status: 'Success', responseCode: 0, stdout }, TOKEN);
    expect(decision).toMatchObject({ outcome: 'forced', report: undefined, truncated: true });
    expect(decision.reason).toMatch(/summary line; the report was cut off/);
  });

  it('Success without a readable report is failed, with the reason', () => {
    for (const stdout of ['', 'something else\n', `${summaryOf('drained', 0, 'another-drain')}\n`]) {
      const decision = decideOutcome({ ...base, status: 'Success', responseCode: 0, stdout }, TOKEN);
      expect(decision.outcome).toBe('failed');
      expect(decision.reason).toMatch(/Success but its output holds no summary line or report of this drain/);
    }
  });

  it('Failed with exit 2 and a cut report: the summary line says incomplete', () => {
    const stdout = ssmStdout(
      `${summaryOf('incomplete', 2)}\n${reportJson({ outcome: 'incomplete', pad: '😀'.repeat(7_000) })}\n`,
    );
    expect(decideOutcome({ ...base, status: 'Failed', responseCode: 2, stdout }, TOKEN).outcome).toBe(
      'incomplete',
    );
  });

  it('keeps the meaning of Cancelled and TimedOut without a report', () => {
    const at = (status: string, statusDetails: string) =>
      decideOutcome({ ...base, status, statusDetails, responseCode: -1, stdout: '' }, TOKEN).outcome;
    expect(at('Cancelled', 'Cancelled')).toBe('incomplete');
    expect(at('TimedOut', 'Execution Timed Out')).toBe('incomplete');
    expect(at('TimedOut', 'Delivery Timed Out')).toBe('unreachable');
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
