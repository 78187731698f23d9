// Several FleetDrainers in one app, and several policies in one drainer: each drainer has its own hook and its
// own metrics, a group has one drainer only, and a group may drain with a policy of its own.

import { App, aws_autoscaling as autoscaling, aws_ec2 as ec2, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { DrainPolicy } from '../../agent/policy/policy';
import { ENV_HOOK_NAME } from '../../lambda/config';
import { SERVICE_NAME_ENV } from '../../lambda/telemetry-names';
import { FleetDrainer } from '../../lib/index';
import { documentScript, POLICY } from './helpers';

const LEGACY: DrainPolicy = {
  version: 1,
  targets: [{ name: 'legacy', match: { cmdline: 'legacy-worker' }, schedule: 'TERM/30s/KILL/5s' }],
};

const functionEnv = (template: Template) =>
  (
    Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Environment: { Variables: Record<string, string> } };
    }
  ).Properties.Environment.Variables;

describe('two drainers in one app', () => {
  const app = new App();
  const first = new Stack(app, 'First');
  const second = new Stack(app, 'Second');
  const web = new FleetDrainer(first, 'Drainer', { groups: ['web'], policy: POLICY });
  const batch = new FleetDrainer(second, 'Drainer', { groups: ['batch'], policy: POLICY });
  const templates = [Template.fromStack(first), Template.fromStack(second)];

  it('get different hook names by default, within what Auto Scaling accepts', () => {
    expect(web.hookName).not.toBe(batch.hookName);
    for (const drainer of [web, batch]) {
      expect(drainer.hookName).toMatch(/^fleet-drainer-[A-Za-z0-9_-]{1,241}$/);
    }
    templates[0]?.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleHookName: web.hookName,
    });
    expect(functionEnv(templates[0] as Template)[ENV_HOOK_NAME]).toBe(web.hookName);
  });

  it('keep hookName as an override', () => {
    const stack = new Stack(new App(), 'Named');
    const drainer = new FleetDrainer(stack, 'Drainer', {
      groups: ['web'],
      policy: POLICY,
      hookName: 'drain',
    });
    expect(drainer.hookName).toBe('drain');
  });

  it('give their metrics different service dimensions, which their alarms and dashboards watch', () => {
    expect(web.serviceName).not.toBe(batch.serviceName);
    for (const [index, drainer] of [web, batch].entries()) {
      const template = templates[index] as Template;
      // The Lambda's Powertools takes its service name from here.
      expect(functionEnv(template)[SERVICE_NAME_ENV]).toBe(drainer.serviceName);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'FleetDrainer',
        Dimensions: Match.arrayWith([{ Name: 'service', Value: drainer.serviceName }]),
      });
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) =>
        JSON.stringify(alarm),
      );
      const other = drainer === web ? batch : web;
      for (const alarm of alarms) expect(alarm).not.toContain(`"${other.serviceName}"`);
      const dashboard = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboard).toContain(drainer.serviceName);
      expect(dashboard).not.toContain(`"${other.serviceName}"`);
    }
  });
});

describe('a group has one drainer', () => {
  it('refuses a group named in two drainers of the app, naming the other drainer', () => {
    const app = new App();
    new FleetDrainer(new Stack(app, 'First'), 'Drainer', { groups: ['web'], policy: POLICY });
    expect(
      () =>
        new FleetDrainer(new Stack(app, 'Second'), 'Drainer', { groups: ['batch', 'web'], policy: POLICY }),
    ).toThrow(/the Auto Scaling group "web" is already drained by the FleetDrainer First\/Drainer/);
  });

  it('refuses a group construct given to two drainers, naming it by its path', () => {
    const app = new App();
    const stack = new Stack(app, 'Fleet');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 1 });
    const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    });
    new FleetDrainer(stack, 'One', { groups: [group], policy: POLICY });
    expect(
      () => new FleetDrainer(stack, 'Two', { groups: [{ group, policy: LEGACY }], policy: POLICY }),
    ).toThrow(/the Auto Scaling group "Fleet\/Group" is already drained by the FleetDrainer Fleet\/One/);
    expect(() => new FleetDrainer(stack, 'Three', { groups: [group, group], policy: POLICY })).toThrow(
      /"Fleet\/Group" twice/,
    );
  });
});

describe('a policy per group', () => {
  it('puts every distinct policy in the one document, picked by the group name', () => {
    const stack = new Stack(new App(), 'Policies');
    new FleetDrainer(stack, 'Drainer', {
      groups: ['web', { group: 'legacy', policy: LEGACY }, { group: 'old', policy: LEGACY }],
      policy: POLICY,
    });
    const script = documentScript(Template.fromStack(stack));
    const base64 = (policy: DrainPolicy) => Buffer.from(JSON.stringify(policy)).toString('base64');
    expect(script).toContain('case "$SSM_autoScalingGroupName" in');
    expect(script).toContain(`  'legacy'|'old') policy_b64='${base64(LEGACY)}' ;;`);
    expect(script).toContain(`  *) policy_b64='${base64(POLICY)}' ;;`);
    expect(script).toContain('--config-b64 "$policy_b64"');
  });

  it("fails synth when the policies outgrow SSM's 64 KB document", () => {
    const big = (index: number): DrainPolicy => ({
      version: 1,
      targets: [
        { name: `t${index}`, match: { cmdline: `worker-${index}-${'x'.repeat(3000)}` }, preset: 'celery' },
      ],
    });
    const groups = Array.from({ length: 12 }, (_, index) => ({ group: `g${index}`, policy: big(index) }));
    expect(
      () => new FleetDrainer(new Stack(new App(), 'Big'), 'Drainer', { groups, policy: POLICY }),
    ).toThrow(
      /The fleet-drain document would be up to \d+ bytes, over SSM's 65536: shorten `policy` and the groups' own policies, or split the groups over several FleetDrainers/,
    );
  });

  it("validates a group's own policy, naming where it is", () => {
    const bad = { version: 1, targets: [{ name: 'x', match: { cmdline: 'x' }, preset: 'unicorn' }] };
    expect(
      () =>
        new FleetDrainer(new Stack(new App(), 'Bad'), 'Drainer', {
          groups: ['web', { group: 'legacy', policy: bad as unknown as DrainPolicy }],
          policy: POLICY,
        }),
    ).toThrow(/`groups\[1\]\.policy` is not a valid drain policy:\n.*targets\[0\]\.preset/);
  });
});
