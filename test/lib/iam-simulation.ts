// Evaluates synthesized IAM policies with an IAM policy simulator (@cloud-copilot/iam-simulate), in a fixed
// account and Region: what a principal holding them may do.

import { runSimulation } from '@cloud-copilot/iam-simulate';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
};

/**
 * Resolves the pseudo parameters and joins of a synthesized value (env-agnostic stacks use them in ARNs);
 * `refs` names the stack's resources a `Ref` may point to (a group's name), `stackName` AWS::StackName.
 */
export function concrete(value: unknown, refs: Record<string, string> = {}): unknown {
  if (Array.isArray(value)) return value.map((inner) => concrete(inner, refs));
  if (value === null || typeof value !== 'object') return value;
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === 'string' && node.Ref in PSEUDO) return PSEUDO[node.Ref];
  if (typeof node.Ref === 'string' && node.Ref in refs) return refs[node.Ref];
  // The stack's own resources (log group, queue): a stand-in ARN of a service the tests do not ask about.
  if (Array.isArray(node['Fn::GetAtt']))
    return `arn:aws:sqs:${REGION}:${ACCOUNT}:${(node['Fn::GetAtt'] as string[])[0]}`;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => concrete(part, refs)).join(delimiter);
  }
  return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, concrete(inner, refs)]));
}

export interface NamedPolicy {
  name: string;
  policy: unknown;
}

/** The simulator's verdict (`Allowed`, `ExplicitlyDenied`, `ImplicitlyDenied`) for one request. */
export async function simulate(
  policies: NamedPolicy[],
  action: string,
  resource: string,
  context: Record<string, string> = {},
  principal = `arn:aws:iam::${ACCOUNT}:role/drainer`,
): Promise<string> {
  const response = await runSimulation(
    {
      request: { principal, action, resource: { resource, accountId: ACCOUNT }, contextVariables: context },
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}
