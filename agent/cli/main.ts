// fleet-drain-agent: the command line. Parses and checks everything before touching any process; a user's
// mistake gets a message naming what is wrong and the documented exit code, never a stack trace.

import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { errorCode, errorMessage } from '../../common/errors.js';
import { formatPlanOutput } from '../../common/plan-output.js';
import { DEFAULT_STATE_DIR } from '../drain/drain-state.js';
import { makeDirs, pseudoFsProblem } from '../host/safe-fs.js';
import { EXIT } from '../report/exit-codes.js';
import { type OptionValues, type ParsedCommand, parseCommandLine } from './command-line.js';
import { drainCommand } from './drain-command.js';
import { guardDrain, type HostCommand, restore, status } from './host-commands.js';
import type { Io } from './io.js';
import { loadPolicy } from './load-policy.js';
import { plan } from './plan.js';
import { errorReport, printReport } from './print-report.js';
import { HELP, UsageError, VERSION } from './usage.js';

/** A --state-dir is quoted in its error message at most this long. */
const STATE_DIR_QUOTE_MAX_CHARS = 200;

const HOST_COMMANDS: Record<
  'status' | 'restore' | 'guard',
  (command: HostCommand) => number | Promise<number>
> = {
  status,
  restore,
  guard: guardDrain,
};

/** One run of the command line, filled in step by step: what a usage error reports depends on how far it got. */
interface CliRun {
  argv: readonly string[];
  io: Io;
  command?: ParsedCommand;
  drainId?: string;
}

/** Runs the command line; returns the exit code. Everything printed goes through `io`. */
export async function main(argv: readonly string[], io: Io, abort: AbortSignal): Promise<number> {
  const run: CliRun = { argv, io };
  try {
    run.command = parseCommandLine(argv);
    const { command, values } = run.command;
    if (command === 'help') return print(io, HELP);
    if (command === 'version') return print(io, `${VERSION}\n`);
    const stateDir = checkStateDir(values);
    if (command === 'plan') return await planCommand(values, io);
    if (command !== 'status' && !values['dry-run']) checkWritableStateDir(stateDir);
    if (command !== 'drain') return await HOST_COMMANDS[command]({ values, stateDir, io });
    run.drainId = values.id ?? randomUUID();
    return await drainCommand({ id: run.drainId, values, stateDir, io, abort });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return reportUsageError(run, error);
  }
}

/**
 * `plan` exits as a drain with the policy would end when a target cannot be handled (its `error`: an unknown
 * user, a supervisor CLI that fails): 2, `incomplete`. Otherwise 0.
 */
async function planCommand(values: OptionValues, io: Io): Promise<number> {
  const result = await plan(loadPolicy(values, io));
  io.stdout(formatPlanOutput(result));
  return result.targets.some((target) => target.error !== undefined) ? EXIT.incomplete : EXIT.drained;
}

const print = (io: Io, text: string): number => {
  io.stdout(text);
  return 0;
};

/** The state folder: the default, or a --state-dir on a real file system (UsageError, exit 78). */
function checkStateDir(values: OptionValues): string {
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  const problem = values['state-dir'] === undefined ? undefined : pseudoFsProblem(stateDir);
  if (problem === undefined) return stateDir;
  throw new UsageError(
    `--state-dir ${stateDir.slice(0, STATE_DIR_QUOTE_MAX_CHARS)}: ${problem}; give a folder on a real file system (default ${DEFAULT_STATE_DIR})`,
    EXIT.config,
  );
}

/**
 * A state folder the drain can write: created if missing (mode 0700), else a UsageError (exit 78) naming why
 * not (a file, a read-only file system, no permission), before any process is touched.
 */
function checkWritableStateDir(stateDir: string): void {
  try {
    makeDirs(stateDir, 0o700);
    accessSync(stateDir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = errorCode(error) ?? errorMessage(error);
    const why =
      code === 'ENOTDIR' || code === 'EEXIST' ? 'is not a folder' : 'is not a folder this agent can write';
    throw new UsageError(
      `--state-dir ${stateDir.slice(0, STATE_DIR_QUOTE_MAX_CHARS)} ${why} (${code}); give a writable folder (default ${DEFAULT_STATE_DIR}, as root)`,
      EXIT.config,
    );
  }
}

/**
 * The message on stderr (with a pointer to --help when the command line itself was wrong), and for `drain`
 * a report too, so that whoever ran it (the SSM document, the Lambda) sees why.
 */
function reportUsageError(run: CliRun, error: UsageError): number {
  const hint = run.command ? '' : 'Run fleet-drain-agent --help for usage.\n';
  run.io.stderr(`fleet-drain-agent: ${error.message}\n${hint}`);
  const command = run.command?.command ?? run.argv.find((arg) => !arg.startsWith('-'));
  const id = run.drainId ?? run.command?.values.id ?? '-';
  if (command === 'drain') printReport(run.io, errorReport(id, error.exitCode, error.message));
  return error.exitCode;
}
