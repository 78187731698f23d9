// fleet-drain-agent: the command line. Parses and checks everything before touching any process; a user's
// mistake gets a message naming what is wrong and the documented exit code, never a stack trace.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeError, errorCode, errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { createTarget, drain } from '../drain/drain.js';
import { DEFAULT_STATE_DIR, DrainStore } from '../drain/drain-state.js';
import { guard, parseLineage, startGuardian } from '../drain/guardian.js';
import { restoreHost } from '../drain/restore.js';
import { procReader } from '../host/proc.js';
import { pseudoFsProblem } from '../host/safe-fs.js';
import { DRAIN_PARAMETERS } from '../policy/drain-parameters.js';
import { parseDuration } from '../policy/duration.js';
import { PolicyError, parsePolicyJson, type ResolvedPolicy } from '../policy/policy.js';
import { drainOutput } from '../report/compact-report.js';
import { EXIT } from '../report/exit-codes.js';
import { type DrainReport, emptyReport, REPORT_VERSION } from '../report/report.js';
import { ProcessTarget } from '../targets/process-target.js';
import { protectProcesses } from '../targets/protected-processes.js';
import { agentLogger } from './log-context.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export const HELP = `fleet-drain-agent ${VERSION}: stop the work on this host gracefully before it is terminated.

Usage:
  fleet-drain-agent drain  (--config FILE|- | --config-b64 B64) [--id DRAIN_ID]
                           [--deadline ISO8601|DURATION] [--state-dir DIR] [--dry-run]
  fleet-drain-agent plan   (--config FILE|- | --config-b64 B64)
  fleet-drain-agent status [--state-dir DIR]
  fleet-drain-agent restore --id DRAIN_ID [--state-dir DIR]
  fleet-drain-agent --help | --version

drain   runs the policy: prepare steps, each target's schedule, finally steps. Prints a summary line
        (fleet-drain v1 outcome=… exit=… id=… joined=0|1), then one JSON report, on stdout, and JSON
        log lines on stderr. A second drain with the same --id joins the first, or
        replays its report once it has finished: no signal is ever sent twice.
plan    prints what each target would match and its schedule. Signals nothing.
status  prints the current or last drain as JSON.
restore undoes what a drain whose agent was killed changed on the host (containers' restart policies,
        systemd drop-ins, files its touch steps created); \`run\` steps cannot be undone. Each drain starts
        a guardian (\`guard\`, in a session of its own) that does this by itself when the agent is killed.

Options:
  --config FILE|-     the drain policy as JSON (- reads stdin)
  --config-b64 B64    the drain policy as base64-encoded JSON
  --id DRAIN_ID       drain id (letters, digits, -; the lifecycle action token). Default: a new one
  --deadline WHEN     when the drain must be over: an ISO 8601 UTC time or a duration from now (90s, 10m,
                      2h). Every wait is clipped so that the last step of each schedule still fits
  --state-dir DIR     lock and state files (default ${DEFAULT_STATE_DIR})
  --dry-run           find the targets and report them; run no step, send no signal

Exit codes: 0 drained (or nothing to drain) · 3 drained, some only after KILL · 2 still running when
the schedule or the deadline ran out · 4 the agent was interrupted (TERM/INT) · 64 usage error ·
78 invalid config · 70 internal error.
`;

/** A user's mistake: message and exit code, no stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  config: { type: 'string' },
  'config-b64': { type: 'string' },
  id: { type: 'string' },
  deadline: { type: 'string' },
  'state-dir': { type: 'string' },
  'dry-run': { type: 'boolean' },
  pid: { type: 'string' },
  until: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  drain: ['config', 'config-b64', 'id', 'deadline', 'state-dir', 'dry-run'],
  plan: ['config', 'config-b64'],
  status: ['state-dir'],
  restore: ['id', 'state-dir'],
  // Internal: started by `drain` (guardian.ts).
  guard: ['id', 'state-dir', 'pid', 'until'],
};

export interface ParsedCommand {
  command: 'drain' | 'plan' | 'status' | 'restore' | 'guard' | 'help' | 'version';
  values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };
}

/** Parses the command line; throws UsageError (exit 64) naming the problem. */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(errorMessage(error).replace(/\. To specify a positional.*$/s, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help', values };
  if (values.version) return { command: 'version', values };
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError('no command given; use drain, plan, status or restore');
  if (!(command in ALLOWED))
    throw new UsageError(`unknown command "${command}"; use drain, plan, status or restore`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" after "${command}"`);
  for (const key of Object.keys(values)) {
    if (!ALLOWED[command]?.includes(key)) throw new UsageError(`--${key} does not apply to "${command}"`);
  }
  for (const key of ['config', 'config-b64', 'id', 'deadline', 'state-dir', 'pid', 'until'] as const) {
    if (values[key] === '') throw new UsageError(`--${key} needs a value`);
  }
  if ((command === 'restore' || command === 'guard') && values.id === undefined)
    throw new UsageError(`"${command}" needs the drain: --id DRAIN_ID`);
  if (
    command === 'guard' &&
    !(parseLineage(values.pid ?? '') && !Number.isNaN(Date.parse(values.until ?? '')))
  )
    throw new UsageError('"guard" needs --pid PID:START,PPID:START and --until ISO8601');
  if (command === 'drain' || command === 'plan') {
    if (values.config === undefined && values['config-b64'] === undefined) {
      throw new UsageError(
        `"${command}" needs the policy: --config FILE, --config - (stdin) or --config-b64 B64`,
      );
    }
    if (values.config !== undefined && values['config-b64'] !== undefined) {
      throw new UsageError('give either --config or --config-b64, not both');
    }
  }
  if (values.id !== undefined && !new RegExp(DRAIN_PARAMETERS.drainId.pattern).test(values.id)) {
    throw new UsageError(
      `--id "${values.id.slice(0, 80)}" is not a drain id: 1-64 letters, digits and "-", starting with a letter or digit`,
    );
  }
  return { command: command as ParsedCommand['command'], values };
}

/** An ISO 8601 time or a duration from `now`; UsageError when it is neither. */
export function parseDeadline(text: string, now: Date = new Date()): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now.getTime() + ms);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const time = Date.parse(text);
    if (!Number.isNaN(time)) return new Date(time);
  }
  throw new UsageError(
    `--deadline "${text.slice(0, 80)}" is neither an ISO 8601 time with a zone (2026-11-22T10:30:00Z) nor a duration (90s, 10m, 2h)`,
  );
}

/** Reads and validates the policy; UsageError with exit 78 naming every problem. */
export function loadPolicy(values: ParsedCommand['values'], io: Io): ResolvedPolicy {
  let text: string;
  if (values['config-b64'] !== undefined) {
    const b64 = values['config-b64'].trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) {
      throw new UsageError('--config-b64 is not valid base64', EXIT.config);
    }
    text = Buffer.from(b64, 'base64').toString('utf8');
  } else {
    const file = values.config as string;
    try {
      text = file === '-' ? io.readStdin() : readFileSync(file, 'utf8');
    } catch (error) {
      const code = errorCode(error) ?? errorMessage(error);
      throw new UsageError(
        `cannot read the config ${file === '-' ? 'from stdin' : `file ${file}`}: ${code}`,
        EXIT.config,
      );
    }
  }
  try {
    return parsePolicyJson(text);
  } catch (error) {
    if (error instanceof PolicyError) {
      throw new UsageError(
        `invalid config:\n${error.issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n')}`,
        EXIT.config,
      );
    }
    throw error;
  }
}

/**
 * The policy's touch paths, checked on this host: the schema refuses /proc, /sys and /dev by name; here a
 * symbolic link or a mount that leads onto a pseudo file system is refused too (UsageError, exit 78).
 */
export function checkWritablePaths(policy: ResolvedPolicy): void {
  const problems = (['prepare', 'finally'] as const).flatMap((phase) =>
    policy[phase].flatMap((step, index) => {
      const problem = step.kind === 'touch' ? pseudoFsProblem(step.path) : undefined;
      return problem ? [`  ${phase}[${index}].touch: ${problem}; a drain writes nothing there`] : [];
    }),
  );
  if (problems.length > 0) throw new UsageError(`invalid config:\n${problems.join('\n')}`, EXIT.config);
}

/** The summary line, then the report (see summary-line.ts): within what SSM keeps of stdout. */
const printReport = (io: Io, report: DrainReport) => io.stdout(drainOutput(report));

const errorReport = (id: string, exitCode: number, message: string): DrainReport =>
  emptyReport(id, 'error', exitCode, { error: message.slice(0, 2000) });

async function plan(policy: ResolvedPolicy): Promise<unknown> {
  const proc = procReader();
  const protection = protectProcesses(proc);
  const clock = () => 0;
  const targets = [];
  for (const spec of policy.targets) {
    const target = createTarget(spec, { proc, protection, clock });
    await target.discover(true);
    const processes =
      target instanceof ProcessTarget
        ? target.all().map(({ pid, command, matched }) => ({ pid, command, matched }))
        : target.processes().map(({ pid, command }) => ({ pid, command }));
    targets.push({
      name: spec.name,
      kind: target.kind,
      schedule: spec.schedule.text,
      after: spec.after,
      processes,
      ...(target.error ? { error: target.error } : {}),
    });
  }
  return { version: REPORT_VERSION, targets };
}

/** `restore`: undoes drain `id` if no agent runs it and it has not finished (restore.ts). */
async function restore(id: string, stateDir: string, io: Io): Promise<number> {
  const log = agentLogger({ drainId: id, env: io.env, stderr: io.stderr });
  const proc = procReader();
  const store = new DrainStore(stateDir, proc, {
    pid: process.pid,
    startTime: proc.stat(process.pid)?.startTime ?? 0,
  });
  const acquired = store.acquire(id);
  if (acquired.kind !== 'owner') {
    const reason =
      acquired.kind === 'finished' ? 'the drain has finished' : 'a drain is running on this host';
    io.stdout(`${JSON.stringify({ id, restored: false, reason })}\n`);
    return 0;
  }
  try {
    const state = acquired.previous;
    if (state?.id !== id) {
      io.stdout(`${JSON.stringify({ id, restored: false, reason: 'no such drain' })}\n`);
      return 0;
    }
    const restored = await restoreHost(state, log);
    store.write(state);
    io.stdout(`${JSON.stringify({ id, restored: true, ...restored })}\n`);
    return restored.failures.length > 0 ? EXIT.internal : 0;
  } finally {
    store.release();
  }
}

/** Runs the command line; returns the exit code. Everything printed goes through `io`. */
export async function main(argv: readonly string[], io: Io, abort: AbortSignal): Promise<number> {
  let command: ParsedCommand;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`fleet-drain-agent: ${error.message}\nRun fleet-drain-agent --help for usage.\n`);
    // `drain` always prints a report, so whoever ran it (the SSM document, the Lambda) sees why.
    if (argv.find((arg) => !arg.startsWith('-')) === 'drain') {
      printReport(io, errorReport('-', error.exitCode, error.message));
    }
    return error.exitCode;
  }
  const { values } = command;
  if (command.command === 'help') {
    io.stdout(HELP);
    return 0;
  }
  if (command.command === 'version') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  const stateDirProblem = values['state-dir'] === undefined ? undefined : pseudoFsProblem(stateDir);
  if (stateDirProblem !== undefined) {
    const message = `--state-dir ${stateDir.slice(0, 200)}: ${stateDirProblem}; give a folder on a real file system (default ${DEFAULT_STATE_DIR})`;
    io.stderr(`fleet-drain-agent: ${message}\n`);
    if (command.command === 'drain') printReport(io, errorReport(values.id ?? '-', EXIT.config, message));
    return EXIT.config;
  }
  if (command.command === 'guard') {
    const log = agentLogger({
      drainId: values.id,
      env: io.env,
      stderr: io.stderr,
      fields: { guardian: true },
    });
    const result = await guard({
      id: values.id as string,
      stateDir,
      ...(() => {
        const [agent, parent] = parseLineage(values.pid as string) as NonNullable<
          ReturnType<typeof parseLineage>
        >;
        return { agent, parent };
      })(),
      until: new Date(values.until as string),
      proc: procReader(),
      log,
    });
    log.log('info', `guardian done: ${result}`);
    return 0;
  }
  if (command.command === 'restore') return restore(values.id as string, stateDir, io);
  if (command.command === 'status') {
    const store = new DrainStore(stateDir, procReader(), { pid: process.pid, startTime: 0 });
    const state = store.latest();
    io.stdout(`${JSON.stringify(state ?? { status: 'none', stateDir })}\n`);
    return 0;
  }
  const id = values.id ?? randomUUID();
  const log: Logger = agentLogger({ drainId: id, env: io.env, stderr: io.stderr });
  let policy: ResolvedPolicy;
  let deadline: Date | undefined;
  try {
    policy = loadPolicy(values, io);
    if (command.command === 'drain') checkWritablePaths(policy);
    if (values.deadline !== undefined) deadline = parseDeadline(values.deadline);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`fleet-drain-agent: ${error.message}\n`);
    if (command.command === 'drain') printReport(io, errorReport(id, error.exitCode, error.message));
    return error.exitCode;
  }
  if (command.command === 'plan') {
    io.stdout(`${JSON.stringify(await plan(policy), null, 2)}\n`);
    return 0;
  }
  if (deadline && deadline.getTime() < Date.now())
    log.log('warn', 'the deadline has passed: every schedule goes straight to its last step');
  let report: DrainReport;
  try {
    report = await drain({
      id,
      policy,
      stateDir,
      abort,
      log,
      dryRun: values['dry-run'] === true,
      ...(deadline ? { deadline } : {}),
      startGuardian: () =>
        startGuardian({ id, stateDir, log, proc: procReader(), ...(deadline ? { deadline } : {}) }),
    });
  } catch (error) {
    log.log('error', 'internal error', {
      error: describeError(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    report = errorReport(id, EXIT.internal, errorMessage(error));
  }
  printReport(io, report);
  log.log(report.exitCode === 0 ? 'info' : 'warn', 'drain finished', {
    outcome: report.outcome,
    durationMs: report.durationMs,
  });
  return report.exitCode;
}
