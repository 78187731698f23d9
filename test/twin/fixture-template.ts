// A small hand-written template of the construct's shape: a document, a terminate hook, three rules (one of
// them given as a parameter, to test a wrong pattern), and the function with its environment.

import type { CfnTemplate } from '../../twin/template';

export function fixtureTemplate(
  lifecyclePattern: Record<string, unknown>,
  runCommand: string[],
): CfnTemplate {
  const target = [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Id: 'Target0' }];
  return {
    Resources: {
      Group: {
        Type: 'AWS::AutoScaling::AutoScalingGroup',
        Properties: { AutoScalingGroupName: 'web', MinSize: '0', MaxSize: '4' },
      },
      Hook: {
        Type: 'AWS::AutoScaling::LifecycleHook',
        Properties: {
          AutoScalingGroupName: { Ref: 'Group' },
          LifecycleHookName: 'drain',
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          HeartbeatTimeout: 300,
        },
      },
      Doc: {
        Type: 'AWS::SSM::Document',
        Properties: {
          Name: { 'Fn::Join': ['-', ['FleetDrain', { Ref: 'AWS::Region' }]] },
          DocumentType: 'Command',
          Content: {
            schemaVersion: '2.2',
            parameters: {
              drainId: { type: 'String', allowedPattern: '^[A-Za-z0-9-]+$', interpolationType: 'ENV_VAR' },
            },
            mainSteps: [{ action: 'aws:runShellScript', name: 'drain', inputs: { runCommand } }],
          },
        },
      },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Environment: {
            Variables: {
              DOC: { Ref: 'Doc' },
              GROUPS: { Ref: 'Group' },
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub, not a JS template.
              BUCKET: { 'Fn::Sub': 'assets-${AWS::AccountId}' },
            },
          },
        },
      },
      InvokeConfig: {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: { FunctionName: { Ref: 'Fn' }, MaximumRetryAttempts: 1, Qualifier: '$LATEST' },
      },
      LifecycleRule: {
        Type: 'AWS::Events::Rule',
        Properties: { EventPattern: lifecyclePattern, State: 'ENABLED', Targets: target },
      },
      StatusRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: {
            source: ['aws.ssm'],
            'detail-type': ['EC2 Command Invocation Status-change Notification'],
            detail: { 'document-name': [{ Ref: 'Doc' }] },
          },
          State: 'ENABLED',
          Targets: target,
        },
      },
      Schedule: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED', Targets: target },
      },
    },
  };
}

export const LIFECYCLE_PATTERN = {
  source: ['aws.autoscaling'],
  'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
  detail: { AutoScalingGroupName: [{ Ref: 'Group' }], LifecycleHookName: ['drain'] },
};
