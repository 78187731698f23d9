// A tick over 1,000 in-flight drains: every drain is handled, and no more than RECONCILE_CONCURRENCY calls
// are in flight at once (the Auto Scaling API budget is shared by the whole account).

import {
  DescribeAutoScalingGroupsCommand,
  type Instance,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { type Command, ListCommandsCommand } from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { describe, expect, it } from 'vitest';
import { RECONCILE_CONCURRENCY } from '../../lambda/workflows/reconcile';
import {
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  listedCommand,
  makeHandler,
  mockAws,
  tickEvent,
} from './helpers';

expect.extend(allCustomMatcher);

const DRAINS = 1000;

function instanceId(index: number): string {
  return `i-${index.toString(16).padStart(17, '0')}`;
}

function tokenOf(index: number): string {
  return `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

describe('reconcile at scale', () => {
  it(`heartbeats ${DRAINS} drains across pages with bounded concurrency`, async () => {
    const aws = mockAws();
    const commands: Command[] = Array.from({ length: DRAINS }, (_, index) =>
      listedCommand({
        CommandId: `10000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`,
        RequestedDateTime: new Date(EVENT_MS),
        params: { instanceId: instanceId(index), drainId: tokenOf(index) },
      }),
    );
    aws.ssm.on(ListCommandsCommand).callsFake(async (input) => {
      const start = Number(input.NextToken ?? 0);
      return {
        Commands: commands.slice(start, start + 50),
        NextToken: start + 50 < commands.length ? String(start + 50) : undefined,
      };
    });
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: GROUP,
          Instances: Array.from({ length: DRAINS }, (_, index) => ({
            InstanceId: instanceId(index),
            LifecycleState: 'Terminating:Wait',
          })) as Instance[],
        } as never,
      ],
    });
    let inFlight = 0;
    let maxInFlight = 0;
    aws.autoScaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return {};
    });
    // The first tick of the second heartbeat slot of actions that started on a whole minute.
    const tickMs = FIRST_DUE_TICK_MS;
    const { handler, metrics } = makeHandler({ nowMs: tickMs });

    const result = await handler(tickEvent(new Date(tickMs).toISOString()));

    expect(JSON.parse(result.result)).toMatchObject({
      commands: DRAINS,
      inFlight: DRAINS,
      heartbeats: DRAINS,
      failures: 0,
    });
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, DRAINS);
    expect(aws.ssm).toHaveReceivedCommandTimes(ListCommandsCommand, DRAINS / 50);
    expect(metrics.entries.filter((entry) => entry.name === 'Heartbeats')).toEqual([
      { name: 'Heartbeats', value: DRAINS, outcome: undefined },
    ]);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(RECONCILE_CONCURRENCY);
  });
});
