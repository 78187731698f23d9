// JSON log lines on stderr, with the keys the Lambda's logs use too (drainId, instanceId,
// autoScalingGroupName, lifecycleHookName), so that both sides join in CloudWatch Logs Insights.

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, message: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
}

/** Context the SSM document passes in the environment (SSM itself sets AWS_SSM_INSTANCE_ID). */
export function contextFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const context: Record<string, string> = {};
  const instanceId = env.FLEET_DRAIN_INSTANCE_ID ?? env.AWS_SSM_INSTANCE_ID;
  if (instanceId) context.instanceId = instanceId;
  if (env.FLEET_DRAIN_GROUP) context.autoScalingGroupName = env.FLEET_DRAIN_GROUP;
  if (env.FLEET_DRAIN_HOOK) context.lifecycleHookName = env.FLEET_DRAIN_HOOK;
  return context;
}

export function createLogger(
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line),
  quiet = process.env.FLEET_DRAIN_LOG_LEVEL === 'warn',
): Logger {
  return {
    log(level, message, fields) {
      if (quiet && (level === 'debug' || level === 'info')) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...base, ...fields })}\n`);
    },
    with(fields) {
      return createLogger({ ...base, ...fields }, write, quiet);
    },
  };
}
