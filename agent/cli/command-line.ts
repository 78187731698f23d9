// The command line: which command, which options, each checked before anything else happens. A mistake
// is a UsageError (exit 64) that names it.

import { parseArgs } from 'node:util';
import { errorMessage } from '../../common/errors.js';
import { parseLineage } from '../drain/guardian.js';
import { DRAIN_ACTIONS, DRAIN_PARAMETERS } from '../policy/drain-parameters.js';
import { parseDuration } from '../policy/duration.js';
import { UsageError } from './usage.js';

/** A user's value is quoted in an error message at most this long: enough to recognise it, never a flood. */
export const QUOTE_MAX_CHARS = 80;

const OPTIONS = {
  config: { type: 'string' },
  'config-b64': { type: 'string' },
  id: { type: 'string' },
  deadline: { type: 'string' },
  action: { type: 'string' },
  'state-dir': { type: 'string' },
  'dry-run': { type: 'boolean' },
  pid: { type: 'string' },
  until: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

const STRING_OPTIONS = [
  'config',
  'config-b64',
  'id',
  'deadline',
  'action',
  'state-dir',
  'pid',
  'until',
] as const;

const ALLOWED: Record<string, readonly string[]> = {
  drain: ['config', 'config-b64', 'id', 'deadline', 'action', 'state-dir', 'dry-run'],
  plan: ['config', 'config-b64'],
  status: ['state-dir'],
  restore: ['id', 'state-dir'],
  // Internal: started by `drain` (guardian.ts).
  guard: ['id', 'state-dir', 'pid', 'until'],
};

export type CommandName = 'drain' | 'plan' | 'status' | 'restore' | 'guard' | 'help' | 'version';
export type OptionValues = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

export interface ParsedCommand {
  command: CommandName;
  values: OptionValues;
}

/** Parses the command line; throws UsageError (exit 64) naming the problem. */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const { values, positionals } = parseOptions(argv);
  if (values.help) return { command: 'help', values };
  if (values.version) return { command: 'version', values };
  const command = commandOf(positionals);
  checkOptionsApply(command, values);
  checkCommandNeeds(command, values);
  return { command: command as CommandName, values };
}

function parseOptions(argv: readonly string[]): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(errorMessage(error).replace(/\. To specify a positional.*$/s, ''));
  }
}

function commandOf(positionals: readonly string[]): string {
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError('no command given; use drain, plan, status or restore');
  if (!(command in ALLOWED))
    throw new UsageError(`unknown command "${command}"; use drain, plan, status or restore`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" after "${command}"`);
  return command;
}

function checkOptionsApply(command: string, values: OptionValues): void {
  for (const key of Object.keys(values)) {
    if (!ALLOWED[command]?.includes(key)) throw new UsageError(`--${key} does not apply to "${command}"`);
  }
  for (const key of STRING_OPTIONS) {
    if (values[key] === '') throw new UsageError(`--${key} needs a value`);
  }
}

function checkCommandNeeds(command: string, values: OptionValues): void {
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
  // `plan` is the document's action for the `plan` command, never a drain's.
  if (values.action !== undefined && !(DRAIN_ACTIONS as readonly string[]).includes(values.action)) {
    throw new UsageError(
      `--action "${values.action.slice(0, QUOTE_MAX_CHARS)}" is neither drain nor prepare`,
    );
  }
  if (values.id !== undefined && !new RegExp(DRAIN_PARAMETERS.drainId.pattern).test(values.id)) {
    throw new UsageError(
      `--id "${values.id.slice(0, QUOTE_MAX_CHARS)}" is not a drain id: 1-64 letters, digits and "-", starting with a letter or digit`,
    );
  }
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
    `--deadline "${text.slice(0, QUOTE_MAX_CHARS)}" is neither an ISO 8601 time with a zone (2026-11-22T10:30:00Z) nor a duration (90s, 10m, 2h)`,
  );
}
