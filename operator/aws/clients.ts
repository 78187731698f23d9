// The SDK v3 clients of the operator commands: the default credential chain, `--profile` and `--region`;
// AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) as the SDK reads them. Every call is bounded: three
// attempts, a connection that opens within 5 s and a response within 15 s, so a command never hangs on a
// dead network. https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SSMClient } from '@aws-sdk/client-ssm';

export const MAX_ATTEMPTS = 3;
export const CONNECTION_TIMEOUT_MS = 5000;
export const REQUEST_TIMEOUT_MS = 15_000;

export interface ClientChoice {
  region?: string;
  profile?: string;
}

export interface OperatorClients {
  cloudFormation: CloudFormationClient;
  autoScaling: AutoScalingClient;
  ssm: SSMClient;
}

/** The options every client gets. */
export function clientOptions({ region, profile }: ClientChoice) {
  return {
    ...(region === undefined ? {} : { region }),
    ...(profile === undefined ? {} : { profile }),
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  };
}

export function createClients(choice: ClientChoice): OperatorClients {
  const options = clientOptions(choice);
  return {
    cloudFormation: new CloudFormationClient(options),
    autoScaling: new AutoScalingClient(options),
    ssm: new SSMClient(options),
  };
}

/** The region the clients resolved (from --region, AWS_REGION or the profile), for messages. */
export async function resolvedRegion(clients: OperatorClients): Promise<string | undefined> {
  try {
    return await clients.cloudFormation.config.region();
  } catch {
    return undefined;
  }
}
