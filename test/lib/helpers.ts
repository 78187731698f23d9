// Helpers for the construct's tests: a stack with a FleetDrainer, synthesized once per file.

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { DrainPolicy } from '../../agent/policy/policy';
import { FleetDrainer, type FleetDrainerProps } from '../../lib/index';

export const POLICY: DrainPolicy = {
  version: 1,
  prepare: [{ touch: '/run/app/no-dispatch' }],
  targets: [{ name: 'workers', match: { cmdline: 'celery worker' }, preset: 'celery' }],
};

export const GROUPS = ['web', 'workers'];

/** A stack with one FleetDrainer (groups web and workers by name unless props say otherwise). */
export function drainerStack(props: Partial<FleetDrainerProps> = {}) {
  const app = new App();
  const stack = new Stack(app, 'Test');
  const drainer = new FleetDrainer(stack, 'Drainer', { groups: GROUPS, policy: POLICY, ...props });
  return { app, stack, drainer, template: Template.fromStack(stack) };
}

/** The one resource of a type in a template (fails when there is not exactly one). */
export function onlyResource(template: Template, type: string): Record<string, unknown> {
  const resources = Object.values(template.findResources(type));
  if (resources.length !== 1) throw new Error(`expected one ${type}, found ${resources.length}`);
  return (resources[0] as { Properties: Record<string, unknown> }).Properties;
}

/** The shell script of the fleet-drain document in a template. */
export function documentScript(template: Template): string {
  const content = onlyResource(template, 'AWS::SSM::Document').Content as {
    mainSteps: { inputs: { runCommand: string[] } }[];
  };
  return (content.mainSteps[0]?.inputs.runCommand ?? []).join('\n');
}
