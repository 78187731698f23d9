// cdk-nag's AwsSolutions pack over a stack with a FleetDrainer: no finding may stay unacknowledged, and
// every acknowledgment carries its reason.

import { App, aws_autoscaling as autoscaling, aws_ec2 as ec2, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { expect, it } from 'vitest';
import { DemoStack } from '../../lib/demo-stack';
import { FleetDrainer } from '../../lib/index';
import { POLICY } from './helpers';

// cdk-nag walks every resource of a full synth: about 15 s alone, several times that on a loaded machine.
const NAG_SYNTH_TIMEOUT_MS = 120_000;

it(
  'passes AwsSolutions with every finding acknowledged with a reason',
  () => {
    const app = new App();
    const stack = new Stack(app, 'Nag');
    // A group construct as well as names, so references in IAM resources are covered too. The group and its
    // VPC are the test's, not the construct's: their own findings are acknowledged here.
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 1 });
    const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });
    const fixture = 'A test fixture, not part of the construct.';
    Validations.of(vpc).acknowledge({ id: 'AwsSolutions::AwsSolutions-VPC7', reason: fixture });
    Validations.of(group).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-EC26', reason: fixture },
      { id: 'AwsSolutions::AwsSolutions-AS3', reason: fixture },
    );
    const drainer = new FleetDrainer(stack, 'Drainer', { groups: [group, 'web'], policy: POLICY });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    expect(String(failure ?? '')).toBe('');

    const acknowledged = drainer.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) expect(reason, id).toMatch(/\w+ \w+ \w+/);
  },
  NAG_SYNTH_TIMEOUT_MS,
);

it(
  'passes AwsSolutions on the demo stack too',
  () => {
    const app = new App();
    new DemoStack(app, 'Demo');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  },
  NAG_SYNTH_TIMEOUT_MS,
);
