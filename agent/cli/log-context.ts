// The agent's logger: JSON lines on stderr that carry the drain's keys, so that they join the Lambda's.

import { createLogger, LOG_KEYS, type LogFields, type Logger } from '../../common/log.js';

/** What the SSM document passes in the environment (SSM itself sets AWS_SSM_INSTANCE_ID). */
export function contextFromEnv(env: NodeJS.ProcessEnv): LogFields {
  const context: LogFields = {};
  const instanceId = env.FLEET_DRAIN_INSTANCE_ID ?? env.AWS_SSM_INSTANCE_ID;
  if (instanceId) context[LOG_KEYS.instanceId] = instanceId;
  if (env.FLEET_DRAIN_GROUP) context[LOG_KEYS.autoScalingGroupName] = env.FLEET_DRAIN_GROUP;
  if (env.FLEET_DRAIN_HOOK) context[LOG_KEYS.lifecycleHookName] = env.FLEET_DRAIN_HOOK;
  return context;
}

/** A logger for drain `drainId` writing to `stderr`; FLEET_DRAIN_LOG_LEVEL=warn keeps warnings and errors only. */
export function agentLogger(options: {
  drainId: string | undefined;
  env: NodeJS.ProcessEnv;
  stderr: (text: string) => void;
  fields?: LogFields;
}): Logger {
  const { drainId, env, stderr, fields } = options;
  return createLogger({
    fields: { [LOG_KEYS.drainId]: drainId, ...fields, ...contextFromEnv(env) },
    write: stderr,
    minLevel: env.FLEET_DRAIN_LOG_LEVEL === 'warn' ? 'warn' : 'debug',
  });
}
