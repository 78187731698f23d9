// One JSON object a line, with the keys the drain agent's and the drainer Lambda's logs share, so that a
// drain's lines from both sides join in CloudWatch Logs Insights. The agent logs through createLogger; the
// Lambda logs through its own logger with these keys. Imports nothing but Node's built-ins.

/** The keys that name a drain in every log line, on the host and in the Lambda. */
export const LOG_KEYS = {
  drainId: 'drainId',
  instanceId: 'instanceId',
  autoScalingGroupName: 'autoScalingGroupName',
  lifecycleHookName: 'lifecycleHookName',
  commandId: 'commandId',
} as const;

export type LogKey = keyof typeof LOG_KEYS;

/** A log line's fields: the shared keys, and whatever else the line says. */
export type LogFields = { [K in LogKey]?: string } & Record<string, unknown>;

export type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  log(level: Level, message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries `fields`. */
  with(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Fields every line carries (a drain's drainId, instanceId…). */
  fields?: LogFields;
  /** Where each line goes (with its newline); stderr by default. */
  write?: (line: string) => void;
  /** Lines below this level are dropped; none by default. */
  minLevel?: Level;
}

export function createLogger({
  fields: base = {},
  write = (line) => process.stderr.write(line),
  minLevel = 'debug',
}: LoggerOptions = {}): Logger {
  return {
    log(level, message, fields) {
      if (LEVEL_RANK[level] < LEVEL_RANK[minLevel]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...base, ...fields })}\n`);
    },
    with(fields) {
      return createLogger({ fields: { ...base, ...fields }, write, minLevel });
    },
  };
}
