// Warm pools as AWS documents them: an instance going back to the pool on scale-in (ReuseOnScaleIn) waits for
// the terminate hook in Warmed:Pending:Wait, listed by DescribeWarmPool and not by DescribeAutoScalingGroups;
// an instance leaving the pool to be terminated waits in Warmed:Terminating:Wait, and is running only when
// the pool's state is Running (warm-pool-instance-lifecycle.html; warm-pools-eventbridge-events.html).

import {
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { CancelCommandCommand, GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { SETTLE_MS } from '../../lambda/decide/plan-tick';
import { FleetModel } from './fleet-model';
import {
  type AwsMocks,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  handlerOnClock,
  INSTANCE,
  lifecycleEvent,
  listedCommand,
  makeHandler,
  mockAws,
  noActiveByInstance,
  reportJson,
  sentEvents,
  serveCommands,
  serveWaitingInstance,
  TOKEN,
  tickEvent,
  tickHandlerAt,
} from './helpers';

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
});

/** The group lists none of the sample instance; its warm pool (in `poolState`) lists it in `lifecycleState`. */
function inWarmPool(lifecycleState: string, poolState: string | undefined = 'Stopped') {
  aws.autoScaling
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [{ AutoScalingGroupName: GROUP, Instances: [] }] as never });
  aws.autoScaling.on(DescribeWarmPoolCommand).callsFake(async (input) => ({
    ...(poolState === undefined ? {} : { WarmPoolConfiguration: { PoolState: poolState } }),
    Instances:
      input.AutoScalingGroupName === GROUP ? [{ InstanceId: INSTANCE, LifecycleState: lifecycleState }] : [],
  }));
  // DescribeAutoScalingInstances reports warm-pool instances in their Warmed:* state
  // (API_AutoScalingInstanceDetails.html lists them among its LifecycleState values).
  aws.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [
      {
        InstanceId: INSTANCE,
        AutoScalingGroupName: GROUP,
        LifecycleState: lifecycleState,
        AvailabilityZone: 'us-west-2a',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
      },
    ] as never,
  });
}

async function tickAt(ms: number) {
  const context = makeHandler({ nowMs: ms });
  const result = await context.handler(tickEvent(new Date(ms).toISOString()));
  return { ...context, summary: JSON.parse(result.result) as Record<string, unknown> };
}

describe('an instance going back to the warm pool (Warmed:Pending:Wait)', () => {
  it('keeps its drain running past the settle delay and heartbeats it: never cancelled', async () => {
    // Outage prevented: about 2 minutes into the drain the tick took the instance for gone (no group lists
    // it), cancelled the command (SIGKILL of the agent's process group) and completed it as incomplete.
    inWarmPool('Warmed:Pending:Wait');
    serveCommands(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    expect(FIRST_DUE_TICK_MS - EVENT_MS).toBeGreaterThan(SETTLE_MS);
    for (const tickMs of [EVENT_MS + SETTLE_MS + 60_000, FIRST_DUE_TICK_MS, FIRST_DUE_TICK_MS + 60_000]) {
      await tickAt(tickMs);
    }
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: TOKEN,
    });
  });

  it('keeps its drain when the warm pool cannot be listed this tick (throttled): the heartbeat tells', async () => {
    inWarmPool('Warmed:Pending:Wait');
    aws.autoScaling.on(DescribeWarmPoolCommand).rejects(
      new AutoScalingServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    );
    serveCommands(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    await tickAt(EVENT_MS + SETTLE_MS + 60_000);
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('cancels a drain still running once the instance is in the pool (its action is over)', async () => {
    inWarmPool('Warmed:Stopped');
    serveCommands(aws, [listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    await tickAt(EVENT_MS + SETTLE_MS + 60_000);
    expect(aws.ssm).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
  });

  it('is adopted when it waits there without a drain (its lifecycle event was lost)', async () => {
    inWarmPool('Warmed:Pending:Wait');
    serveCommands(aws, []);
    const { summary } = await tickAt(EVENT_MS + 120_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      InstanceId: INSTANCE,
    });
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(summary).toMatchObject({ adopted: 1, skipped: 0 });
  });
});

describe('an instance leaving the warm pool to be terminated (Origin: WarmPool)', () => {
  it.each([
    ['Stopped', 'skipped'],
    ['Hibernated', 'skipped'],
    ['Running', 'started'],
    [undefined, 'started'],
  ])('from a pool whose state is %s: %s', async (poolState, expected) => {
    aws.autoScaling.on(DescribeWarmPoolCommand).resolves({
      ...(poolState === undefined ? {} : { WarmPoolConfiguration: { PoolState: poolState as never } }),
      Instances: [],
    });
    const { handler } = makeHandler();
    const result = await handler(lifecycleEvent({ Origin: 'WarmPool', Destination: 'EC2' }));
    expect(result.result).toBe(expected);
    expect(aws.autoScaling).toHaveReceivedCommandWith(DescribeWarmPoolCommand, {
      AutoScalingGroupName: GROUP,
    });
    if (expected === 'skipped') {
      expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
      expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'skipped' });
    } else {
      expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
      expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    }
  });

  it('is drained when the role cannot read the pool (a configuration error, logged)', async () => {
    aws.autoScaling.on(DescribeWarmPoolCommand).rejects(
      new AutoScalingServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'not authorized to perform autoscaling:DescribeWarmPool',
      }),
    );
    const { handler, metrics } = makeHandler();
    const result = await handler(lifecycleEvent({ Origin: 'WarmPool', Destination: 'EC2' }));
    expect(result.result).toBe('started');
    expect(metrics.total('ConfigErrors')).toBe(1);
  });

  it.each([
    ['Stopped', { skipped: 1, adopted: 0 }],
    ['Hibernated', { skipped: 1, adopted: 0 }],
    ['Running', { skipped: 0, adopted: 1 }],
  ])('whose event was lost, from a %s pool: the tick makes up for it', async (poolState, counts) => {
    inWarmPool('Warmed:Terminating:Wait', poolState);
    serveCommands(aws, []);
    const { summary } = await tickAt(EVENT_MS + 120_000);
    expect(summary).toMatchObject(counts);
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, counts.adopted);
  });
});

describe('warm-pool reuse: a drain of an earlier life neither blocks adoption nor finishes the new action', () => {
  it('does not complete with a command that ended more than H ago; adopts the instance instead', async () => {
    serveWaitingInstance(aws, [listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportJson(),
      ExecutionEndDateTime: new Date(EVENT_MS + 60_000).toISOString(),
    });
    const { result } = await tickHandlerAt(EVENT_MS + 60_000 + 600_000 + 180_000);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 1, finished: 0 });
  });

  it('adopts when the old token’s completion says its action is over while the instance waits again', async () => {
    serveWaitingInstance(aws, [listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })]);
    aws.autoScaling
      .on(CompleteLifecycleActionCommand)
      .rejects(noActiveByInstance(`No active Lifecycle Action found with token ${TOKEN}`));
    const { result } = await tickHandlerAt(EVENT_MS + 600_000);
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 1 });
  });

  it('in the fleet model: a reused instance whose second event is lost is adopted, never times out', async () => {
    const model = new FleetModel(EVENT_MS);
    model.instances.set(INSTANCE, {
      id: INSTANCE,
      group: GROUP,
      state: 'InService',
      reachable: true,
      reuse: true,
    });
    const mocks = model.serve();
    const handler = handlerOnClock(model);
    let nextTickMs = EVENT_MS + 60_000;
    const advance = async (ms: number) => {
      const target = model.nowMs + ms;
      while (nextTickMs <= target) {
        model.nowMs = Math.max(model.nowMs, nextTickMs);
        await handler(tickEvent(new Date(nextTickMs).toISOString()));
        nextTickMs += 60_000;
      }
      model.nowMs = Math.max(model.nowMs, target);
    };
    try {
      const first = model.scaleIn(INSTANCE);
      model.pending.length = 0;
      await handler(first?.event);
      model.agentFinishes(model.commands[0] as never);
      await handler(model.pending.shift()?.event);
      expect(model.actions[0]?.completions).toBe(1);
      expect(model.instances.get(INSTANCE)?.state).toBe('Warmed:Stopped');
      await advance(5 * 60_000);
      model.scaleOut(INSTANCE); // back in service from the pool, then scaled in again
      model.scaleIn(INSTANCE);
      model.pending.length = 0; // the second event is lost
      await advance(20 * 60_000);
      const second = model.actions[1];
      expect(second?.timedOut).toBe(false);
      expect(model.commandsOf(second as never)).toHaveLength(1);
      model.agentFinishes(model.commandsOf(second as never)[0] as never);
      await advance(3 * 60_000);
      expect(second?.completions).toBe(1);
      expect(second?.commandTerminalAtCompletion).toBe(true);
    } finally {
      mocks.autoScaling.restore();
      mocks.ssm.restore();
      mocks.events.restore();
    }
  });
});

describe('a warm-pool instance whose Origin: WarmPool event was lost', () => {
  it('is completed as skipped by instance id', async () => {
    serveWaitingInstance(aws, [], 'InService');
    aws.autoScaling.on(DescribeWarmPoolCommand).resolves({
      WarmPoolConfiguration: { PoolState: 'Stopped' },
      Instances: [{ InstanceId: 'i-0eeeeeeeeeeeeeee5', LifecycleState: 'Warmed:Terminating:Wait' }] as never,
    });
    await tickHandlerAt(EVENT_MS + 60_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      InstanceId: 'i-0eeeeeeeeeeeeeee5',
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'skipped' });
  });
});
