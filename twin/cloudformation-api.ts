// CloudFormation's Query API for the one stack the twin stands for: DescribeStacks, with the outputs of the
// template resolved as the twin deploys it. What the operator commands read to find the drainer.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html

import { AwsError } from './aws-error';
import { ACCOUNT_ID } from './commands';
import { REGION } from './event-envelope';
import type { QueryParams } from './query-protocol';
import type { TemplateOutput } from './template';
import type { XmlObject } from './xml';

/** The deployed stack as DescribeStacks describes it. */
export interface DeployedStack {
  name: string;
  /** `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`. */
  id: string;
  description: string | undefined;
  createdMs: number;
  outputs: TemplateOutput[];
}

export function stackArn(name: string, uuid: string): string {
  return `arn:aws:cloudformation:${REGION}:${ACCOUNT_ID}:stack/${name}/${uuid}`;
}

/**
 * A stack that does not exist, as CloudFormation answers it: `ValidationError` (HTTP 400) "Stack with id <name>
 * does not exist" (github.com/boto/boto3/issues/2807, the service's own response body).
 */
function stackNotFound(name: string): AwsError {
  return new AwsError('ValidationError', `Stack with id ${name} does not exist`);
}

/** The members the AWS CLI's describe-stacks example shows (awscli/examples/cloudformation/describe-stacks.rst). */
function stackXml(stack: DeployedStack): XmlObject {
  return {
    StackId: stack.id,
    StackName: stack.name,
    Description: stack.description,
    CreationTime: new Date(stack.createdMs),
    StackStatus: 'CREATE_COMPLETE',
    DisableRollback: false,
    Outputs: stack.outputs.map((output) => ({
      OutputKey: output.key,
      OutputValue: output.value,
      Description: output.description,
      ExportName: output.exportName,
    })),
    Tags: [],
  };
}

/**
 * Answers one CloudFormation action. The stack lives in the twin's region only: a request signed for another
 * region finds no stack, as a stack deployed in one region is not seen from another.
 */
export function cloudFormationAction(
  stack: DeployedStack,
  params: QueryParams,
  region: string | undefined,
): XmlObject {
  switch (params.action) {
    case 'DescribeStacks': {
      const name = params.string('StackName');
      const here = region === undefined || region === REGION;
      // StackName takes the name or the stack's id (ARN); none lists every stack of the region.
      if (name === undefined) return { Stacks: here ? [stackXml(stack)] : [] };
      if (!here || (name !== stack.name && name !== stack.id)) throw stackNotFound(name);
      return { Stacks: [stackXml(stack)] };
    }
    default:
      throw new AwsError('InvalidAction', `Could not find operation ${params.action} for version 2010-05-15`);
  }
}
