// Spot interruptions and rebalance recommendations in the twin: the EC2 events' shapes, the interruption two
// minutes after the warning on the twin's clock (every process of the instance killed, its SSM Agent gone),
// the health-check replacement without Capacity Rebalancing, and the order of Capacity Rebalancing.

import { readdirSync, readFileSync } from 'node:fs';
import { DescribeInstanceInformationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { SteppedClock } from '../../twin/clock';
import { isolationMode } from '../../twin/instances';
import { SPOT_NOTICE_MS, Twin } from '../../twin/twin';
import { fixtureTemplate, LIFECYCLE_PATTERN } from './fixture-template';

const GROUP = 'web';
const SPOT_PATTERN = {
  source: ['aws.ec2'],
  'detail-type': ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation'],
};

let twin: Twin | undefined;
afterEach(async () => {
  await twin?.stop();
  twin = undefined;
});

/** A twin at 300× the wall (120 s pass in 0.4 s) with no handler: only the control plane. */
async function start(
  pattern: Record<string, unknown> = LIFECYCLE_PATTERN,
  heartbeatSeconds = 60,
): Promise<Twin> {
  twin = await Twin.start({
    template: fixtureTemplate(pattern, ['true']),
    clock: new SteppedClock(6000),
    handler: 'none',
    heartbeatTimeoutSeconds: heartbeatSeconds,
    unhealthyAfterMs: 30_000,
  });
  return twin;
}

const sleeper = (instanceId: string) => [{ command: ['sleep', '600', instanceId] }];

/** PIDs (in this namespace) of processes whose command line names the instance. */
function processesOf(instanceId: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(instanceId);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function ssmClient(url: string): SSMClient {
  return new SSMClient({
    endpoint: url,
    region: 'us-west-2',
    credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' },
    maxAttempts: 1,
  });
}

const statesOf = (t: Twin, id: string) =>
  t.states.filter((change) => change.instanceId === id).map((change) => change.lifecycleState);

describe.runIf(isolationMode() === 'pid-namespace')('a Spot interruption', () => {
  it('warns with the documented event, then interrupts the instance 2 minutes later on the twin clock', async () => {
    const t = await start();
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];
    expect(processesOf(id).length).toBeGreaterThan(0);

    const interruption = t.spotInterruption(id);

    expect(interruption.event).toMatchObject({
      version: '0',
      source: 'aws.ec2',
      'detail-type': 'EC2 Spot Instance Interruption Warning',
      account: '123456789012',
      region: 'us-west-2',
      resources: [`arn:aws:ec2:us-west-2:123456789012:instance/${id}`],
      detail: { 'instance-id': id, 'instance-action': 'terminate' },
    });
    expect(interruption.event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(t.bus.events).toContain(interruption.event);
    expect(t.hosts.get(id)?.alive).toBe(true);
    await t.waitFor(() => interruption.interruptedMs !== undefined, 'the interruption');
    const lateMs = (interruption.interruptedMs as number) - interruption.warnedMs;
    expect(lateMs).toBeGreaterThanOrEqual(SPOT_NOTICE_MS);
    expect(lateMs).toBeLessThan(SPOT_NOTICE_MS + 30_000);
    expect(t.hosts.get(id)?.alive).toBe(false);
    await t.waitFor(() => processesOf(id).length === 0, 'every process of the instance to die', 5000);
    const ssm = ssmClient(t.url);
    await expect(
      ssm.send(
        new SendCommandCommand({
          DocumentName: 'FleetDrain-us-west-2',
          InstanceIds: [id],
          Parameters: { drainId: ['d1'] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidInstanceId' });
    ssm.destroy();
  });

  it('is found by the health check later and replaced: terminate hooks run, then a new instance launches', async () => {
    const t = await start();
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];

    const interruption = t.spotInterruption(id);

    await t.waitFor(() => t.replacements.some((r) => r.replacement !== undefined), 'the replacement');
    const [replacement] = t.replacements;
    expect(replacement).toMatchObject({ replaced: id, reason: 'health-check' });
    expect(replacement?.error).toBeUndefined();
    // Still InService (and Healthy) until the health check found it, some time after the interruption.
    const waitStarted = t.states.find((s) => s.instanceId === id && s.lifecycleState === 'Terminating:Wait');
    expect((waitStarted?.atMs ?? 0) - (interruption.interruptedMs as number)).toBeGreaterThanOrEqual(30_000);
    expect(statesOf(t, id)).toEqual(['InService', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated']);
    expect(
      t.bus.events.filter((e) => e.source === 'aws.autoscaling' && e.detail.EC2InstanceId === id),
    ).toHaveLength(1);
    // Terminated first, then the new instance (desired capacity kept).
    const terminated = t.states.find((s) => s.instanceId === id && s.lifecycleState === 'Terminated');
    const launched = t.states.find((s) => s.instanceId === replacement?.replacement);
    expect(launched?.lifecycleState).toBe('InService');
    expect(launched?.atMs).toBeGreaterThanOrEqual(terminated?.atMs ?? Number.POSITIVE_INFINITY);
    expect(t.autoScaling.describeGroups([GROUP])[0]?.desiredCapacity).toBe(1);
  });

  it('stops an instance whose action is stop: its processes die and its agent is ConnectionLost', async () => {
    const t = await start();
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];

    const interruption = t.spotInterruption(id, 'stop');

    expect(interruption.event.detail).toEqual({ 'instance-id': id, 'instance-action': 'stop' });
    await t.waitFor(() => interruption.interruptedMs !== undefined, 'the interruption');
    await t.waitFor(() => processesOf(id).length === 0, 'every process of the instance to die', 5000);
    const ssm = ssmClient(t.url);
    const info = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
    );
    expect(info.InstanceInformationList?.[0]?.PingStatus).toBe('ConnectionLost');
    ssm.destroy();
  });

  it('hibernates at once: the notice comes without two minutes', async () => {
    const t = await start();
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];

    const interruption = t.spotInterruption(id, 'hibernate');

    expect(interruption.interruptAtMs).toBe(interruption.warnedMs);
    await t.waitFor(() => interruption.interruptedMs !== undefined, 'the interruption');
    expect((interruption.interruptedMs as number) - interruption.warnedMs).toBeLessThan(SPOT_NOTICE_MS);
  });

  it('kills an instance already in Terminating:Wait without replacing it: its action stays open', async () => {
    // A heartbeat timeout far beyond the interruption (an hour: 12 s of wall time here).
    const t = await start(LIFECYCLE_PATTERN, 3600);
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];
    t.autoScaling.terminateInstance(id, true);

    const interruption = t.spotInterruption(id);

    await t.waitFor(() => interruption.interruptedMs !== undefined, 'the interruption');
    await t.waitFor(() => processesOf(id).length === 0, 'every process of the instance to die', 5000);
    expect(statesOf(t, id)).toEqual(['InService', 'Terminating:Wait']);
    expect(t.autoScaling.activeAction(id)).toBeDefined();
    expect(t.replacements).toEqual([]);
  });

  it('reaches the function only through a rule that matches aws.ec2 events', async () => {
    const routed = await start(SPOT_PATTERN);
    const [id] = (await routed.launch(GROUP, 1, sleeper)) as [string];
    routed.spotInterruption(id);
    await routed.rebalanceRecommendation(id);
    const fromEc2 = (t: Twin) => t.bus.invocations.filter((i) => i.event.source === 'aws.ec2');
    await routed.waitFor(() => fromEc2(routed).length === 2, 'both events delivered', 5000);
    await routed.stop();

    const unrouted = await start();
    const [other] = (await unrouted.launch(GROUP, 1, sleeper)) as [string];
    unrouted.spotInterruption(other);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fromEc2(unrouted)).toEqual([]);
  });
});

describe.runIf(isolationMode() === 'pid-namespace')('a rebalance recommendation', () => {
  it('is an event only, without Capacity Rebalancing: the instance stays InService', async () => {
    const t = await start();
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];

    const replacement = await t.rebalanceRecommendation(id);

    expect(replacement).toBeUndefined();
    const event = t.bus.events.find((e) => e['detail-type'] === 'EC2 Instance Rebalance Recommendation');
    expect(event).toMatchObject({
      source: 'aws.ec2',
      account: '123456789012',
      region: 'us-west-2',
      resources: [`arn:aws:ec2:us-west-2:123456789012:instance/${id}`],
      detail: { 'instance-id': id },
    });
    expect(Object.keys(event?.detail ?? {})).toEqual(['instance-id']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(statesOf(t, id)).toEqual(['InService']);
    expect(t.replacements).toEqual([]);
  });

  it('with Capacity Rebalancing: launches a replacement, then terminates the at-risk one through its hook', async () => {
    const t = await start();
    const [id] = (await t.launch(GROUP, 1, sleeper)) as [string];
    t.autoScaling.setCapacityRebalance(GROUP, true);

    const replacement = await t.rebalanceRecommendation(id);

    expect(replacement).toBeDefined();
    expect(t.replacements).toMatchObject([{ replaced: id, replacement, reason: 'capacity-rebalance' }]);
    const inService = t.states.find((s) => s.instanceId === replacement && s.lifecycleState === 'InService');
    const waiting = t.states.find((s) => s.instanceId === id && s.lifecycleState === 'Terminating:Wait');
    expect(inService).toBeDefined();
    expect(waiting).toBeDefined();
    expect(t.states.indexOf(inService as never)).toBeLessThan(t.states.indexOf(waiting as never));
    const recommendation = t.bus.events.findIndex((e) => e.source === 'aws.ec2');
    const lifecycle = t.bus.events.findIndex(
      (e) => e.source === 'aws.autoscaling' && e.detail.EC2InstanceId === id,
    );
    expect(recommendation).toBeGreaterThanOrEqual(0);
    expect(lifecycle).toBeGreaterThan(recommendation);
    expect(t.autoScaling.activeAction(id)).toBeDefined();
    expect(t.autoScaling.describeGroups([GROUP])[0]).toMatchObject({
      desiredCapacity: 1,
      capacityRebalance: true,
    });
  });
});
