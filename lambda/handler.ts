// The drainer Lambda's entry point. Clients, logger and metrics are built once per execution environment.
// Endpoints follow AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) as SDK v3 does by itself, so the
// local twin runs this same file.

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CLIENT_OPTIONS, SQS_CLIENT_OPTIONS } from './aws/client-options';
import { createHandler } from './create-handler';
import { createLog, createMetricsPort, METRICS_NAMESPACE, serviceNameOf } from './telemetry';

const serviceName = serviceNameOf(process.env);
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });

/** The Lambda handler for lifecycle actions, command status changes (both through SQS) and reconcile ticks. */
export const handler = createHandler({
  env: process.env,
  autoScaling: new AutoScalingClient(CLIENT_OPTIONS),
  ssm: new SSMClient(CLIENT_OPTIONS),
  events: new EventBridgeClient(CLIENT_OPTIONS),
  sqs: new SQSClient(SQS_CLIENT_OPTIONS),
  log: createLog(logger),
  metrics: createMetricsPort(metrics),
});
