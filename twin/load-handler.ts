// Runs the real drainer Lambda against the twin. Two ways:
// - `module`: imports the deployed entry point (the bundle dist/lambda/index.js when built, else
//   lambda/handler.ts) after setting the Lambda's environment, AWS_ENDPOINT_URL and credentials, because it
//   builds its clients at module scope. Wall-clock time only; once per process.
// - `composed`: the same createHandler with the same SDK clients and options, but `now`/`sleep` from the
//   twin's clock, so a faster clock shrinks the Lambda's own waits and heartbeat slots with the twin's.

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CLIENT_OPTIONS, SQS_CLIENT_OPTIONS } from '../lambda/aws/client-options';
import { createHandler } from '../lambda/create-handler';
import { createLog, SERVICE_NAME } from '../lambda/telemetry';
import type { Clock } from './clock';
import { REGION } from './event-envelope';

export type Handler = (event: unknown) => Promise<unknown>;

const BUNDLE = fileURLToPath(new URL('../dist/lambda/index.js', import.meta.url));
const SOURCE = fileURLToPath(new URL('../lambda/handler.ts', import.meta.url));

/** What Lambda puts in every function's environment, with the twin's endpoint and dummy credentials. */
function runtimeEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'twin',
    AWS_SECRET_ACCESS_KEY: 'twin',
    AWS_SESSION_TOKEN: 'twin',
    AWS_LAMBDA_FUNCTION_NAME: 'fleet-drainer-twin',
  };
}

/** Imports the real entry point with `environment` (the template's) in process.env first. */
export async function importHandler(
  endpoint: string,
  environment: Record<string, string>,
  logLevel: string,
): Promise<Handler> {
  Object.assign(
    process.env,
    runtimeEnv(endpoint),
    { POWERTOOLS_LOG_LEVEL: logLevel, POWERTOOLS_METRICS_DISABLED: 'true' },
    environment,
  );
  const path = existsSync(BUNDLE) ? BUNDLE : SOURCE;
  const module = (await import(pathToFileURL(path).href)) as {
    handler?: Handler;
    default?: { handler?: Handler };
  };
  const handler = module.handler ?? module.default?.handler;
  if (typeof handler !== 'function') throw new Error(`${path} exports no handler`);
  return handler;
}

/** createHandler with the real SDK clients pointed at the twin, on the twin's clock. Metrics are not recorded. */
export function composeHandler(
  endpoint: string,
  environment: Record<string, string>,
  clock: Clock,
  logLevel: string,
): Handler {
  const clientOptions = {
    ...CLIENT_OPTIONS,
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' },
  };
  const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: logLevel as 'INFO' });
  return createHandler({
    env: environment,
    autoScaling: new AutoScalingClient(clientOptions),
    ssm: new SSMClient(clientOptions),
    events: new EventBridgeClient(clientOptions),
    sqs: new SQSClient({ ...clientOptions, ...SQS_CLIENT_OPTIONS }),
    log: createLog(logger),
    metrics: { count() {}, milliseconds() {}, flush() {} },
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
  });
}
