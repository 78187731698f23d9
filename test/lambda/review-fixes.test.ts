// Regression tests of the drainer Lambda, one per defect found in it; each names the outage it prevents.

import {
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { START_LEAD_MS } from '../../lambda/decide/heartbeat-schedule';
import { FleetModel } from './fleet-model';
import {
  type AwsMocks,
  COMMAND_ID,
  DOCUMENT,
  ENV,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  HOOK,
  handlerOnClock,
  INSTANCE,
  lifecycleEvent,
  listedCommand,
  makeHandler,
  mockAws,
  recordingLog,
  recordingMetrics,
  reportJson,
  SLOT_MS,
  sentEvents,
  serveCommands,
  statusEvent,
  TOKEN,
  tickEvent,
} from './helpers';

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
});

const noActive = (message = `No active Lifecycle Action found with instance ID ${INSTANCE}`) =>
  new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });

function fleet(commands: ReturnType<typeof listedCommand>[], lifecycleState = 'Terminating:Wait') {
  serveCommands(aws, commands);
  aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      { AutoScalingGroupName: GROUP, Instances: [{ InstanceId: INSTANCE, LifecycleState: lifecycleState }] },
    ] as never,
  });
}

async function tickAt(ms: number) {
  const context = makeHandler({ nowMs: ms });
  const result = await context.handler(tickEvent(new Date(ms).toISOString()));
  return { ...context, result };
}

describe('1. heartbeats are counted from the lifecycle event, not from the command', () => {
  it('beats a drain whose command was sent late at the first tick of the action’s second slot', async () => {
    // Outage prevented: the first heartbeat coming after the action had already timed out.
    fleet([listedCommand({ RequestedDateTime: new Date(EVENT_MS + SLOT_MS - START_LEAD_MS - 10_000) })]);
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: TOKEN,
    });
  });

  it('a start sent close to the first slot boundary heartbeats at once', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS - START_LEAD_MS + 1000 });
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('a start sent well before the first slot boundary leaves the heartbeat to that boundary’s tick', async () => {
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS / 2 + 1000 });
    expect((await handler(lifecycleEvent())).result).toBe('started');
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('the first slot’s tick does not beat again a drain its start heartbeated; the next slot does', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(EVENT_MS + SLOT_MS - 10_000) })]);
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    aws.autoScaling.resetHistory();
    // Slots moved START_LEAD_MS earlier: the second slot begins at 2S − lead.
    await tickAt(EVENT_MS + Math.ceil((2 * SLOT_MS - START_LEAD_MS) / 60_000) * 60_000);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });
});

describe('2. warm-pool reuse: a drain of an earlier life neither blocks adoption nor finishes the new action', () => {
  it('does not complete with a command that ended more than H ago; adopts the instance instead', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportJson(),
      ExecutionEndDateTime: new Date(EVENT_MS + 60_000).toISOString(),
    });
    const { result } = await tickAt(EVENT_MS + 60_000 + 600_000 + 180_000);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(JSON.parse(result.result)).toMatchObject({ adopted: 1, finished: 0 });
  });

  it('adopts when the old token’s completion says its action is over while the instance waits again', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })]);
    aws.autoScaling
      .on(CompleteLifecycleActionCommand)
      .rejects(noActive(`No active Lifecycle Action found with token ${TOKEN}`));
    const { result } = await tickAt(EVENT_MS + 600_000);
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

describe('3. one drain per host: any running fleet-drain command counts', () => {
  it('a start that finds another drain id running on the instance sends nothing', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({
          RequestedDateTime: new Date(EVENT_MS - 30_000),
          params: { drainId: `adopted-${INSTANCE}-202611220959` },
        }),
      ],
    });
    const { handler } = makeHandler();
    expect((await handler(lifecycleEvent())).result).toBe('already-draining');
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe('4. adoption probes the action of our hook first', () => {
  it('leaves an instance held by another hook alone: no sleep, no drain', async () => {
    fleet([]);
    aws.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(noActive());
    const { clock } = await tickAt(EVENT_MS + 120_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      InstanceId: INSTANCE,
      LifecycleHookName: HOOK,
    });
    expect(clock.sleeps).toEqual([]);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});

describe('5. one-off heartbeats survive Lambda retries', () => {
  it('a retried start that finds its own command heartbeats when the event is late', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand()] });
    const { handler } = makeHandler({ nowMs: EVENT_MS + SLOT_MS });
    expect((await handler(lifecycleEvent())).result).toBe('duplicate');
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: TOKEN,
    });
  });
});

describe('6. one permanently failing drain does not fail every tick', () => {
  it('a failing finish is logged with its keys and the tick succeeds', async () => {
    fleet([listedCommand({ Status: 'Success', RequestedDateTime: new Date(EVENT_MS) })]);
    aws.ssm.on(GetCommandInvocationCommand).rejects(
      new SSMServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: {},
        message: 'x',
      }),
    );
    const { result, log } = await tickAt(EVENT_MS + 300_000);
    expect(JSON.parse(result.result)).toMatchObject({ failures: 1 });
    expect(log.entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'reconcile step failed',
        keys: expect.objectContaining({ instanceId: INSTANCE, drainId: TOKEN, commandId: COMMAND_ID }),
      }),
    );
  });
});

describe('7. the status event of one command does not finish a drain whose sibling still runs', () => {
  it('returns not-terminal when the ended command shows no end of the drain and a duplicate still runs', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({ Status: 'Cancelled' }),
        listedCommand({ CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c', Status: 'InProgress' }),
      ],
    });
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Cancelled',
      StatusDetails: 'Cancelled',
      ResponseCode: 143,
      StandardOutputContent: '',
      StandardErrorContent: 'terminated\n',
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 181_000 });
    expect((await handler(statusEvent({ status: 'Cancelled' }))).result).toBe('not-terminal');
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('completes at once when the ended command carries the report of the drain (a joined one ends with it)', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        listedCommand({ Status: 'Success' }),
        listedCommand({ CommandId: 'f8d3c0e4-71f7-4491-898f-c9b35bee5f3c', Status: 'InProgress' }),
      ],
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 181_000 });
    expect((await handler(statusEvent())).result).toBe('completed');
  });
});

describe('7 in the fleet model: two commands of one drain (ListCommands lagging a duplicate event)', () => {
  it('completes once, on the first status event that carries the report of the drain', async () => {
    const model = new FleetModel(EVENT_MS);
    model.listLagMs = 10_000;
    model.instances.set(INSTANCE, { id: INSTANCE, group: GROUP, state: 'InService', reachable: true });
    const mocks = model.serve();
    const handler = handlerOnClock(model);
    try {
      const event = model.scaleIn(INSTANCE)?.event;
      model.pending.length = 0;
      await handler(event);
      model.nowMs += 2000;
      await handler(event); // the duplicate does not see the first command yet
      expect(model.commands).toHaveLength(2);
      model.nowMs += 60_000;
      // The agent ran one drain for both; SSM reports the two commands apart.
      model.finishOne(model.commands[0] as never);
      await handler(model.pending.shift()?.event);
      const action = model.actions[0];
      expect(action?.completions).toBe(1);
      model.finishOne(model.commands[1] as never);
      await handler(model.pending.shift()?.event);
      expect(action?.completions).toBe(1);
      expect(model.finishedEvents).toHaveLength(1);
    } finally {
      mocks.autoScaling.restore();
      mocks.ssm.restore();
      mocks.events.restore();
    }
  });
});

describe('9. a host that died under its drain', () => {
  it('is completed as unreachable and its command cancelled once SSM has lost its agent', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    aws.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const order: string[] = [];
    aws.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      order.push('complete');
      return {};
    });
    aws.ssm.on(CancelCommandCommand).callsFake(() => {
      order.push('cancel');
      return {};
    });
    await tickAt(FIRST_DUE_TICK_MS);
    expect(order).toEqual(['complete', 'cancel']);
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'unreachable' });
  });

  it('leaves a drain alone whose agent is online, and heartbeats it', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    await tickAt(FIRST_DUE_TICK_MS);
    expect(aws.ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: [INSTANCE] }],
    });
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it('looks up only the agents of drains due a heartbeat (the others cost no call)', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    await tickAt(FIRST_DUE_TICK_MS + 60_000);
    expect(aws.ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });
});

describe('10. a warm-pool instance whose Origin: WarmPool event was lost', () => {
  it('is completed as skipped by instance id', async () => {
    fleet([], 'InService');
    aws.autoScaling.on(DescribeWarmPoolCommand).resolves({
      WarmPoolConfiguration: { PoolState: 'Stopped' },
      Instances: [{ InstanceId: 'i-0eeeeeeeeeeeeeee5', LifecycleState: 'Warmed:Terminating:Wait' }] as never,
    });
    await tickAt(EVENT_MS + 60_000);
    expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      InstanceId: 'i-0eeeeeeeeeeeeeee5',
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ outcome: 'skipped' });
  });
});

describe('the new calls cannot cost a tick its heartbeats', () => {
  it('heartbeats when the role lacks DescribeWarmPool and DescribeInstanceInformation (logged as configuration errors)', async () => {
    fleet([listedCommand({ RequestedDateTime: new Date(EVENT_MS) })]);
    aws.autoScaling.on(DescribeWarmPoolCommand).rejects(
      new AutoScalingServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: {},
        message: 'no',
      }),
    );
    aws.ssm.on(DescribeInstanceInformationCommand).rejects(
      new SSMServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'no',
      }),
    );
    const { result, metrics } = await tickAt(FIRST_DUE_TICK_MS);
    expect(JSON.parse(result.result)).toMatchObject({ heartbeats: 1, failures: 2, unreachable: 0 });
    expect(metrics.total('ConfigErrors')).toBe(2);
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });
});

describe('11. sleeps stop short of the function timeout', () => {
  it('a tick with too little time left probes but does not sleep the adoption delay', async () => {
    fleet([]);
    const { handler, clock } = makeHandler({ nowMs: EVENT_MS + 120_000 });
    await handler(tickEvent(new Date(EVENT_MS + 120_000).toISOString()), {
      getRemainingTimeInMillis: () => 60_000,
    });
    expect(aws.autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(clock.sleeps).toEqual([]);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe('minor: a completion whose first response was lost', () => {
  it('is reported, flagged, when the SDK’s retry finds the action over', async () => {
    const { completeDrain } = await import('../../lambda/workflows/drain-actions');
    const { parseConfig } = await import('../../lambda/config');
    const { NoActiveLifecycleActionError } = await import('../../lambda/aws/errors');
    const parsed = parseConfig(ENV);
    if (!parsed.ok) throw new Error('invalid test configuration');
    const lost = new NoActiveLifecycleActionError('No active Lifecycle Action found with token x');
    lost.afterRetry = true;
    const events: Record<string, unknown>[] = [];
    const clock = { nowMs: EVENT_MS };
    const result = await completeDrain(
      {
        autoScaling: {
          completeLifecycleAction: async () => {
            throw lost;
          },
          recordHeartbeat: async () => {},
          describeGroupInstances: async () => [],
          describeWarmPoolInstances: async () => [],
          warmPoolState: async () => undefined,
          describeInstances: async () => [],
        },
        ssm: {} as never,
        queues: { waitingMessages: async () => undefined, retryAfter: async () => {} },
        events: { putEvent: async (_type, detail) => void events.push(detail) },
        log: recordingLog(),
        metrics: recordingMetrics(),
        now: () => clock.nowMs,
        sleep: async () => {},
      },
      parsed.config,
      {
        action: { groupName: GROUP, hookName: HOOK, instanceId: INSTANCE, token: TOKEN },
        drainId: TOKEN,
        commandId: COMMAND_ID,
        outcome: 'drained',
        reason: 'test',
        startedMs: EVENT_MS,
        young: false,
      },
    );
    expect(result).toBe('completed');
    expect(events[0]).toMatchObject({ outcome: 'drained', completionUncertain: true });
  });
});

describe('12. an ARN-configured document', () => {
  it('is never filtered by its raw ARN, and its status events are recognised', async () => {
    const { handler } = makeHandler({
      env: { ...ENV, FLEET_DRAINER_DOCUMENT_NAME: `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}` },
    });
    await handler(lifecycleEvent());
    for (const call of aws.ssm.commandCalls(ListCommandsCommand)) {
      expect(JSON.stringify(call.args[0].input.Filters ?? [])).not.toMatch(/arn:/);
    }
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand({ Status: 'Success' })] });
    const arnEvent = statusEvent({
      'document-name': `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}`,
    });
    const status = await makeHandler({
      nowMs: EVENT_MS + 181_000,
      env: { ...ENV, FLEET_DRAINER_DOCUMENT_NAME: `arn:aws:ssm:us-west-2:123456789012:document/${DOCUMENT}` },
    }).handler(arnEvent);
    expect(status.result).toBe('completed');
  });
});

describe('13. GetCommandInvocation lagging a terminal status event', () => {
  it('is asked again (bounded) and then completes', async () => {
    aws.ssm.on(ListCommandsCommand).resolves({ Commands: [listedCommand({ Status: 'Success' })] });
    aws.ssm
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ Status: 'InProgress', ResponseCode: -1 })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: reportJson() });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 181_000 });
    expect((await handler(statusEvent())).result).toBe('completed');
  });
});
