// A stack that synthesizes must deploy: the event patterns, the role's policies and the function's
// environment stay within their quotas for any number of groups, or synth fails naming the limit and the fix.

import { App, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV_GROUP_NAMES } from '../../lambda/config';
import { FleetDrainer } from '../../lib/index';
import { POLICY } from './helpers';

/** `count` distinct group names of `length` characters. */
const names = (count: number, length: number) =>
  Array.from({ length: count }, (_, index) => `group-${String(index).padStart(3, '0')}-`.padEnd(length, 'x'));

function synth(groups: string[]) {
  const app = new App();
  const stack = new Stack(app, 'Quotas');
  const drainer = new FleetDrainer(stack, 'Drainer', { groups, policy: POLICY });
  return { drainer, template: Template.fromStack(stack) };
}

/**
 * A synthesized value as deployed in the partition and Region with the longest names (aws-us-gov,
 * us-isob-east-1); any other reference (a queue's URL or ARN, whose name is at most 80) for 160 characters.
 */
function deployed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deployed);
  if (value === null || typeof value !== 'object') return value;
  const node = value as Record<string, unknown>;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws-us-gov',
    'AWS::Region': 'us-isob-east-1',
    'AWS::AccountId': '123456789012',
    'AWS::URLSuffix': 'amazonaws.com.cn',
  };
  if (typeof node.Ref === 'string') return pseudo[node.Ref] ?? 'r'.repeat(160);
  if (node['Fn::GetAtt'] !== undefined) return 'a'.repeat(160);
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(deployed).join(delimiter);
  }
  return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, deployed(inner)]));
}
/** Characters IAM counts: the JSON without whitespace. */
const iamChars = (document: unknown) => JSON.stringify(deployed(document)).replace(/\s/g, '').length;

function deployedSizes(template: Template) {
  const properties = (type: string) =>
    Object.values(template.findResources(type)).map(
      (resource) => (resource as { Properties: Record<string, unknown> }).Properties,
    );
  const [fn] = properties('AWS::Lambda::Function') as [{ Environment: { Variables: unknown } }];
  const [role] = properties('AWS::IAM::Role') as [{ ManagedPolicyArns?: unknown[] }];
  return {
    patterns: properties('AWS::Events::Rule')
      .filter((rule) => rule.EventPattern !== undefined)
      .map((rule) => JSON.stringify(deployed(rule.EventPattern)).length),
    inlinePolicies: properties('AWS::IAM::Policy')
      .map((policy) => iamChars(policy.PolicyDocument))
      .reduce((sum, chars) => sum + chars, 0),
    managedPolicies: properties('AWS::IAM::ManagedPolicy').map((policy) => iamChars(policy.PolicyDocument)),
    attachedManagedPolicies: role.ManagedPolicyArns?.length ?? 0,
    environment: Buffer.byteLength(JSON.stringify(deployed(fn.Environment.Variables))),
  };
}

// Synthesizing hundreds of groups (and loading the CDK first) is slow on a loaded machine.
describe('deploy-time quotas', { timeout: 120_000 }, () => {
  it.each([
    [1, 60],
    [35, 60],
  ])('%i groups of %i characters deploy: every size within its quota', (count, length) => {
    const { template } = synth(names(count, length));
    const sizes = deployedSizes(template);
    // EventBridge: 2,048 characters a pattern (the lifecycle rule matches the hook, not a list of groups).
    for (const chars of sizes.patterns) expect(chars).toBeLessThanOrEqual(2048);
    // IAM: 10,240 characters of inline policies per role, 6,144 per managed policy, 10 managed per role.
    expect(sizes.inlinePolicies).toBeLessThanOrEqual(10_240);
    for (const chars of sizes.managedPolicies) expect(chars).toBeLessThanOrEqual(6144);
    expect(sizes.attachedManagedPolicies).toBeLessThanOrEqual(10);
    // Lambda: 4 KB of environment.
    expect(sizes.environment).toBeLessThanOrEqual(4096);
  });

  it('the lifecycle pattern does not grow with the groups', () => {
    const one = deployedSizes(synth(names(1, 60)).template).patterns;
    const many = deployedSizes(synth(names(35, 60)).template).patterns;
    expect(many).toEqual(one);
  });

  it('500 groups of 60 characters fail synth, naming each limit passed and how many groups fit', () => {
    let message = '';
    try {
      synth(names(500, 60));
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(
      /environment would be up to \d+ bytes for 500 groups, over Lambda's 4096 .*split the groups over several FleetDrainers \(at most (\d+) of these 500 fit in one\)/,
    );
    expect(message).toMatch(
      /would need \d+ managed policies for 500 groups .*over IAM's default 10 per role .*split the groups over several FleetDrainers/,
    );
    // What the message says fits does deploy.
    const fit = Number(/FleetDrainers \(at most (\d+) of these 500 fit in one\)/.exec(message)?.[1]);
    expect(fit).toBeGreaterThan(35);
    const sizes = deployedSizes(synth(names(fit, 60)).template);
    expect(sizes.environment).toBeLessThanOrEqual(4096);
    expect(() => synth(names(fit + 1, 60))).toThrow(/environment would be up to/);
  });

  it('counts a name CloudFormation fills in (an import, a generated name) at 255 characters', () => {
    // 16 such names take at least 16 × 256 bytes: more than the whole environment.
    const imported = Array.from({ length: 16 }, (_, index) => Fn.importValue(`group-${index}`));
    expect(() => synth(imported)).toThrow(/environment would be up to \d+ bytes for 16 groups/);
    const { template } = synth(imported.slice(0, 4));
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as [
      { Properties: { Environment: { Variables: Record<string, unknown> } } },
    ];
    expect(fn.Properties.Environment.Variables[ENV_GROUP_NAMES]).toBeDefined();
  });
});
