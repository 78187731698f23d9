// Prepare and finally steps: touch a file (e.g. lava's __nodispatch__), or run a command with a timeout.

import { closeSync, existsSync, openSync, utimesSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { describeResult, runCommand } from '../host/run-command.js';
import type { ResolvedStep } from '../policy/policy.js';
import type { StepReport } from '../report/report.js';

/** A step is named in logs and the report by its command, cut to this many characters. */
const STEP_NAME_MAX_CHARS = 200;

export function describeStep(step: ResolvedStep): string {
  return step.kind === 'touch' ? `touch ${step.path}` : step.argv.join(' ');
}

export async function runStep(
  step: ResolvedStep,
  abort?: AbortSignal,
  maxTimeoutMs = Number.POSITIVE_INFINITY,
  onCreate?: (path: string) => void,
  mayGoOn?: (elapsedMs: number) => boolean,
): Promise<StepReport> {
  const started = performance.now();
  const name = describeStep(step).slice(0, STEP_NAME_MAX_CHARS);
  if (step.kind === 'touch') {
    try {
      // No folder is created: one made by root where the app expects its own would lock the app out, and a
      // typo would go unnoticed. The step fails instead, naming the folder.
      if (!existsSync(dirname(step.path))) {
        const error = `ENOENT: no folder ${dirname(step.path)} (a touch step creates no folders)`;
        return { step: name, ok: false, durationMs: Math.round(performance.now() - started), error };
      }
      // A file the drain creates is the drain's to remove if the drain is undone (restore.ts): said before.
      if (!existsSync(step.path)) onCreate?.(step.path);
      closeSync(openSync(step.path, 'a'));
      const now = new Date();
      utimesSync(step.path, now, now);
      return { step: name, ok: true, durationMs: Math.round(performance.now() - started) };
    } catch (error) {
      const code = errorCode(error) ?? errorMessage(error);
      return { step: name, ok: false, durationMs: Math.round(performance.now() - started), error: code };
    }
  }
  const result = await runCommand(step.argv, Math.min(step.timeoutMs, maxTimeoutMs), {
    ...(abort ? { signal: abort } : {}),
    ...(mayGoOn ? { mayGoOn } : {}),
  });
  const problem = describeResult(result);
  const report: StepReport = {
    step: name,
    ok: problem === undefined,
    durationMs: result.durationMs,
    exitCode: result.exitCode,
  };
  if (problem) report.error = problem;
  return report;
}

/** Runs steps in order; a failed step is logged and reported but does not stop the drain. */
export async function runSteps(
  steps: readonly ResolvedStep[],
  phase: 'prepare' | 'finally',
  log: Logger,
  options: {
    abort?: AbortSignal;
    onDone?: (index: number, report: StepReport) => void;
    /** Steps not to run (an earlier agent of the same drain ran them). */
    skip?: (index: number) => boolean;
    /** The longest a step may still take, asked before each step (what the deadline leaves). */
    maxTimeoutMs?: () => number;
    /** Asked while a command runs: false ends it as a timeout (a deadline that moved earlier). */
    mayGoOn?: (elapsedMs: number) => boolean;
    /** A touch step is about to create a file that did not exist. */
    onCreate?: (index: number, path: string) => void;
  } = {},
): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  for (let index = 0; index < steps.length; index++) {
    if (options.skip?.(index)) {
      log.log('info', `${phase} step already ran, skipped`, {
        step: describeStep(steps[index] as ResolvedStep).slice(0, STEP_NAME_MAX_CHARS),
      });
      continue;
    }
    if (options.abort?.aborted) break;
    const report = await runStep(
      steps[index] as ResolvedStep,
      options.abort,
      options.maxTimeoutMs?.(),
      (path) => options.onCreate?.(index, path),
      options.mayGoOn,
    );
    reports.push(report);
    options.onDone?.(index, report);
    log.log(report.ok ? 'info' : 'warn', `${phase} step ${report.ok ? 'done' : 'failed'}`, { ...report });
  }
  return reports;
}
