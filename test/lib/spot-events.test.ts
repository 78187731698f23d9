// EC2's Spot interruption warnings and rebalance recommendations: the rule that sends them to the lifecycle
// queue, the queue policy that lets it, and the Lambda's setting.

import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV_REBALANCE_ACTION } from '../../lambda/config';
import {
  DEFAULT_REBALANCE_ACTION,
  REBALANCE_ACTIONS,
  REBALANCE_RECOMMENDATION_DETAIL_TYPE,
  type RebalanceAction,
  RULE_MAX_EVENT_AGE,
  RULE_RETRY_ATTEMPTS,
  SPOT_INTERRUPTION_DETAIL_TYPE,
} from '../../lib/index';
import { drainerStack, onlyResource } from './helpers';

const byAction = Object.fromEntries(
  REBALANCE_ACTIONS.map((action) => [action, drainerStack({ onRebalanceRecommendation: action })]),
) as Record<RebalanceAction, ReturnType<typeof drainerStack>>;
const defaults = drainerStack();

/** The one rule with an aws.ec2 pattern, and its logical id. */
function spotRule({ stack, drainer, template }: ReturnType<typeof drainerStack>) {
  const id = stack.getLogicalId(drainer.spotRule.node.defaultChild as never);
  const rules = template.findResources('AWS::Events::Rule', {
    Properties: { EventPattern: { source: ['aws.ec2'] } },
  });
  expect(Object.keys(rules)).toEqual([id]);
  return { id, properties: (rules[id] as { Properties: Record<string, unknown> }).Properties };
}

describe('the Spot rule', () => {
  it('takes the interruption warnings alone when rebalance recommendations are ignored (the default)', () => {
    expect(DEFAULT_REBALANCE_ACTION).toBe('ignore');
    expect(defaults.drainer.onRebalanceRecommendation).toBe('ignore');
    for (const stack of [defaults, byAction.ignore]) {
      expect(spotRule(stack).properties.EventPattern).toEqual({
        source: ['aws.ec2'],
        'detail-type': ['EC2 Spot Instance Interruption Warning'],
      });
    }
    expect(SPOT_INTERRUPTION_DETAIL_TYPE).toBe('EC2 Spot Instance Interruption Warning');
  });

  it.each(['prepare', 'drain'] as const)('takes the rebalance recommendations too with %s', (action) => {
    expect(spotRule(byAction[action]).properties.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'],
    });
    expect(REBALANCE_RECOMMENDATION_DETAIL_TYPE).toBe('EC2 Instance Rebalance Recommendation');
  });

  it('is on the default bus and delivers to the lifecycle queue like the lifecycle rule: retries, dead letters', () => {
    const { stack, drainer, template } = defaults;
    const { properties } = spotRule(defaults);
    expect(properties.EventBusName).toBeUndefined();
    const targets = (properties: Record<string, unknown>) =>
      (properties.Targets as Record<string, unknown>[]).map(({ Id: _, ...target }) => target);
    const lifecycleRule = Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: { EventPattern: { source: ['aws.autoscaling'] } },
      }),
    )[0] as { Properties: Record<string, unknown> };
    const arn = (queue: typeof drainer.lifecycleQueue) => ({
      'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as never), 'Arn'],
    });
    expect(targets(properties)).toEqual(targets(lifecycleRule.Properties));
    expect(targets(properties)).toEqual([
      expect.objectContaining({
        Arn: arn(drainer.lifecycleQueue),
        DeadLetterConfig: { Arn: arn(drainer.failedEventsQueue) },
        RetryPolicy: {
          MaximumRetryAttempts: RULE_RETRY_ATTEMPTS,
          MaximumEventAgeInSeconds: RULE_MAX_EVENT_AGE.toSeconds(),
        },
      }),
    ]);
  });

  it('may send to the lifecycle queue (EventBridge, on behalf of this rule only)', () => {
    const { stack, drainer, template } = byAction.drain;
    const { id } = spotRule(byAction.drain);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: stack.getLogicalId(drainer.lifecycleQueue.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: Match.arrayWith(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id, 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('exists before the hooks hold an instance', () => {
    const { id } = spotRule(defaults);
    for (const hook of Object.values(defaults.template.findResources('AWS::AutoScaling::LifecycleHook'))) {
      expect((hook as { DependsOn: string[] }).DependsOn).toContain(id);
    }
  });
});

describe('onRebalanceRecommendation', () => {
  it.each(REBALANCE_ACTIONS)('reaches the Lambda as %s', (action) => {
    const env = (
      onlyResource(byAction[action].template, 'AWS::Lambda::Function').Environment as {
        Variables: Record<string, string>;
      }
    ).Variables;
    expect(env[ENV_REBALANCE_ACTION]).toBe(action);
  });

  it('is ignore by default, in the Lambda too', () => {
    const env = (
      onlyResource(defaults.template, 'AWS::Lambda::Function').Environment as {
        Variables: Record<string, string>;
      }
    ).Variables;
    expect(ENV_REBALANCE_ACTION).toBe('FLEET_DRAINER_REBALANCE_ACTION');
    expect(env[ENV_REBALANCE_ACTION]).toBe('ignore');
  });
});
