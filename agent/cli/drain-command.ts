// `drain`: runs the policy on this host (drain.ts), prints the summary line and report, and returns the
// exit code the report names. Whatever goes wrong inside the agent still ends in a report.

import { describeError, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { drain } from '../drain/drain.js';
import { startGuardian } from '../drain/guardian.js';
import { procReader } from '../host/proc.js';
import type { ResolvedPolicy } from '../policy/policy.js';
import { EXIT } from '../report/exit-codes.js';
import type { DrainReport } from '../report/report.js';
import { type OptionValues, parseDeadline } from './command-line.js';
import type { Io } from './io.js';
import { checkWritablePaths, loadPolicy } from './load-policy.js';
import { agentLogger } from './log-context.js';
import { errorReport, printReport } from './print-report.js';

export interface DrainCommand {
  id: string;
  values: OptionValues;
  stateDir: string;
  io: Io;
  abort: AbortSignal;
}

export async function drainCommand(command: DrainCommand): Promise<number> {
  const { id, values, io } = command;
  const log = agentLogger({ drainId: id, env: io.env, stderr: io.stderr });
  const policy = loadPolicy(values, io);
  checkWritablePaths(policy);
  const deadline = values.deadline === undefined ? undefined : parseDeadline(values.deadline);
  if (deadline && deadline.getTime() < Date.now())
    log.log('warn', 'the deadline has passed: every schedule goes straight to its last step');
  const report = await runDrain(command, { policy, deadline, log });
  printReport(io, report);
  log.log(report.exitCode === 0 ? 'info' : 'warn', 'drain finished', {
    outcome: report.outcome,
    durationMs: report.durationMs,
  });
  return report.exitCode;
}

/** The drain's report; an error inside the agent becomes an error report, never a missing one. */
async function runDrain(
  { id, values, stateDir, abort }: DrainCommand,
  { policy, deadline, log }: { policy: ResolvedPolicy; deadline: Date | undefined; log: Logger },
): Promise<DrainReport> {
  const withDeadline = deadline ? { deadline } : {};
  try {
    return await drain({
      id,
      policy,
      stateDir,
      abort,
      log,
      dryRun: values['dry-run'] === true,
      action: values.action === 'prepare' ? 'prepare' : 'drain',
      ...withDeadline,
      startGuardian: () => startGuardian({ id, stateDir, log, proc: procReader(), ...withDeadline }),
    });
  } catch (error) {
    log.log('error', 'internal error', {
      error: describeError(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return errorReport(id, EXIT.internal, errorMessage(error));
  }
}
