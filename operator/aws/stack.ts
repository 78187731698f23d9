// Edge: the stack's drainer outputs (CloudFormation DescribeStacks).
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html

import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { OperatorConfig } from '../../common/operator-config';
import { AwsOperationError } from '../explain-error';
import { drainersOf } from '../stack-config';

/** The drainers of `stackName`; an unknown stack is CloudFormation's ValidationError (explain-error.ts). */
export async function readDrainers(
  client: CloudFormationClient,
  stackName: string,
): Promise<OperatorConfig[]> {
  let outputs: { OutputKey?: string; OutputValue?: string; Description?: string }[];
  try {
    const response = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = response.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new AwsOperationError('cloudformation:DescribeStacks', error);
  }
  return drainersOf(stackName, outputs);
}
