// The twin reads the template it is given and routes service events by that template's own rules: a rule
// with a wrong pattern never reaches the handler, as in AWS. No handler runs here; invocations are recorded.

import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../twin/clock';
import { isolationMode } from '../../twin/instances';
import { readTemplate } from '../../twin/template';
import { Twin } from '../../twin/twin';
import { fixtureTemplate, LIFECYCLE_PATTERN } from './fixture-template';

let twin: Twin | undefined;
afterEach(async () => {
  await twin?.stop();
  twin = undefined;
});

describe('readTemplate', () => {
  it('resolves names, the hook, the schedule and the function environment', () => {
    const read = readTemplate(fixtureTemplate(LIFECYCLE_PATTERN, ['true']));
    expect([...read.documents.keys()]).toEqual(['FleetDrain-us-west-2']);
    expect(read.hooks).toEqual([
      {
        groupName: 'web',
        hookName: 'drain',
        heartbeatTimeoutSeconds: 300,
        defaultResult: 'ABANDON',
        notificationMetadata: undefined,
      },
    ]);
    expect(read.drainer).toEqual({
      logicalId: 'Fn',
      environment: { DOC: 'FleetDrain-us-west-2', GROUPS: 'web', BUCKET: 'assets-123456789012' },
      retryAttempts: 1,
    });
    expect(read.rules.map((rule) => rule.schedulePeriodMs)).toEqual([undefined, undefined, 60_000]);
    expect(read.rules[0]?.eventPattern).toMatchObject({ detail: { AutoScalingGroupName: ['web'] } });
  });
});

describe.runIf(isolationMode() === 'pid-namespace')('routing by the template rules', () => {
  const lifecycleInvocations = (t: Twin) =>
    t.bus.invocations.filter((i) => i.event.source === 'aws.autoscaling');

  it('delivers the lifecycle event and the terminal command status to the function', async () => {
    const clock = new ManualClock(Date.now());
    twin = await Twin.start({
      template: fixtureTemplate(LIFECYCLE_PATTERN, ['echo "drain $SSM_drainId"']),
      clock,
      handler: 'none',
    });
    const [instanceId] = (await twin.launch('web', 1, () => [])) as [string];
    twin.autoScaling.terminateInstance(instanceId, true);
    await twin.waitFor(
      () => lifecycleInvocations(twin as Twin).length === 1,
      'the lifecycle invocation',
      5000,
    );
    const command = twin.commands.sendCommand({
      DocumentName: 'FleetDrain-us-west-2',
      InstanceIds: [instanceId],
      Parameters: { drainId: ['abc'] },
    });
    await twin.waitFor(
      () => twin?.bus.invocations.some((i) => i.event.detail.status === 'Success') ?? false,
      'the Success status',
      5000,
    );
    clock.advance(1000);
    expect(twin.commands.getInvocation(command.commandId, instanceId).invocation).toMatchObject({
      stdout: 'drain abc\n',
      responseCode: 0,
    });
    // The command-level events are on the bus too, but the rule asks for invocation events only.
    expect(
      twin.bus.events.filter((e) => e['detail-type'] === 'EC2 Command Status-change Notification'),
    ).not.toHaveLength(0);
    // Every invocation status change is delivered: this rule has no status filter.
    expect(
      twin.bus.invocations.filter((i) => i.event.source === 'aws.ssm').map((i) => i.event.detail.status),
    ).toEqual(['Pending', 'InProgress', 'Success']);
  });

  it('never delivers an event that the rule pattern misses', async () => {
    const wrong = { ...LIFECYCLE_PATTERN, 'detail-type': ['EC2 Instance Terminate Lifecycle Action'] };
    twin = await Twin.start({
      template: fixtureTemplate(wrong, ['true']),
      clock: new ManualClock(Date.now()),
      handler: 'none',
    });
    const [instanceId] = (await twin.launch('web', 1, () => [])) as [string];
    twin.autoScaling.terminateInstance(instanceId, true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(twin.bus.events.filter((e) => e.source === 'aws.autoscaling')).toHaveLength(1);
    expect(lifecycleInvocations(twin)).toHaveLength(0);
  });

  it('retries a crashed invocation as Lambda does, and drops, duplicates and delays on demand', async () => {
    const clock = new ManualClock(Date.now());
    twin = await Twin.start({
      template: fixtureTemplate(LIFECYCLE_PATTERN, ['true']),
      clock,
      handler: 'none',
      retryDelaysMs: [1000],
    });
    const ids = await twin.launch('web', 3, () => []);
    twin.injectEventFault({ kind: 'crash', match: (e) => e.detail.EC2InstanceId === ids[0] });
    twin.injectEventFault({ kind: 'drop', match: (e) => e.detail.EC2InstanceId === ids[1] });
    twin.injectEventFault({ kind: 'duplicate', match: (e) => e.detail.EC2InstanceId === ids[2] });
    for (const id of ids) twin.autoScaling.terminateInstance(id, true);
    await twin.waitFor(() => lifecycleInvocations(twin as Twin).length === 3, 'three invocations', 5000);
    clock.advance(1000);
    await twin.waitFor(() => lifecycleInvocations(twin as Twin).length === 4, 'the retry', 5000);
    const byInstance = (id: string | undefined) =>
      lifecycleInvocations(twin as Twin).filter((i) => i.event.detail.EC2InstanceId === id);
    expect(byInstance(ids[0]).map((i) => [i.attempt, i.error !== undefined])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(byInstance(ids[1])).toHaveLength(0);
    expect(byInstance(ids[2])).toHaveLength(2);
  });
});
