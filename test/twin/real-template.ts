// The real CloudFormation template: the FleetDrainer construct (lib/) synthesized for one group, with a policy
// that drains the fixture workers. The twin reads only the template, never lib/ itself.

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FleetDrainer } from '../../lib/index';
import type { CfnTemplate } from '../../twin/template';

export const GROUP = 'web';

/** Synthesizes the construct's template; `schedule` is the fixture workers' target schedule. */
export function synthesizeTemplate(schedule = 'TERM/10m/KILL'): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, 'Twin', { env: { account: '123456789012', region: 'us-west-2' } });
  new FleetDrainer(stack, 'Drainer', {
    groups: [GROUP],
    policy: {
      version: 1,
      targets: [{ name: 'workers', match: { cmdline: 'graceful-worker|held-worker' }, schedule }],
    },
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}
