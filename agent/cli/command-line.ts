// The command line: which command, which options, each checked before anything else happens. A mistake
// is a UsageError (exit 64) that names it.

import { parseArgs } from 'node:util';
import { errorMessage } from '../../common/errors.js';
import { parseLineage } from '../drain/guardian.js';
import { DRAIN_ACTIONS, DRAIN_PARAMETERS } from '../policy/drain-parameters.js';
import { formatDuration, parseDuration } from '../policy/duration.js';
import { MAX_WAIT_MS } from '../policy/schedule.js';
import { UsageError } from './usage.js';

/** A user's value is quoted in an error message at most this long: enough to recognise it, never a flood. */
export const QUOTE_MAX_CHARS = 80;

// Every string option is parsed as `multiple`, so that one given twice is an error, not the last one silently.
const OPTIONS = {
  config: { type: 'string', multiple: true },
  'config-b64': { type: 'string', multiple: true },
  id: { type: 'string', multiple: true },
  deadline: { type: 'string', multiple: true },
  action: { type: 'string', multiple: true },
  'state-dir': { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  pid: { type: 'string', multiple: true },
  until: { type: 'string', multiple: true },
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
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(errorMessage(error).replace(/\. To specify a positional.*$/s, ''));
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(parsed.values)) {
    if (!Array.isArray(value)) values[key] = value;
    else if (value.length > 1) throw new UsageError(`--${key} is given ${value.length} times; give it once`);
    else values[key] = value[0];
  }
  return { values: values as OptionValues, positionals: parsed.positionals };
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

/**
 * An ISO 8601 time or a duration with its unit from `now`, at most MAX_WAIT_MS (48 h, what a drain can last)
 * ahead; UsageError otherwise. A bare number is refused: `1700000000` is an epoch time to some, seconds to
 * the duration syntax (a deadline in 2080).
 */
export function parseDeadline(text: string, now: Date = new Date()): Date {
  const quoted = text.slice(0, QUOTE_MAX_CHARS);
  if (/^\d+(\.\d+)?$/.test(text.trim()))
    throw new UsageError(
      `--deadline "${quoted}" has no unit; give a duration with one (90s, 10m, 2h) or an ISO 8601 time with a zone (2026-11-22T10:30:00Z)`,
    );
  const ms = parseDuration(text);
  const time = ms !== undefined ? now.getTime() + ms : isoTime(text);
  if (time !== undefined && time - now.getTime() > MAX_WAIT_MS)
    throw new UsageError(
      `--deadline "${quoted}" is more than ${formatDuration(MAX_WAIT_MS)} away, longer than a drain can last; give a nearer one`,
    );
  if (time !== undefined) return new Date(time);
  throw new UsageError(
    `--deadline "${quoted}" is neither an ISO 8601 time with a zone (2026-11-22T10:30:00Z) nor a duration (90s, 10m, 2h)`,
  );
}

function isoTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}
