// An operator's `fleet-drainer plan` runs the fleet-drain document with action `plan`: its status event
// and its listing in SSM's command history must never be taken for a drain (no heartbeat, no completion,
// no cancel, no Fleet Drain Finished).

import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  type LifecycleState,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CancelCommandCommand,
  type CommandStatus,
  GetCommandInvocationCommand,
  ListCommandsCommand,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { planComment } from '../../common/plan-output';
import { toDrainCommands } from '../../lambda/decide/drain-command';
import {
  type AwsMocks,
  COMMAND_ID,
  DOCUMENT,
  EVENT_MS,
  FIRST_DUE_TICK_MS,
  GROUP,
  groupWith,
  INSTANCE,
  listedCommand,
  makeHandler,
  mockAws,
  serveCommands,
  statusEvent,
  tickEvent,
} from './helpers';

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
});

const PLAN_ID = 'plan-0123456789ab';
/** A plan command as ListCommands returns it: the CLI's parameters, action `plan`. */
const planCommand = (Status: CommandStatus) =>
  listedCommand({
    Status,
    Comment: planComment(INSTANCE),
    RequestedDateTime: new Date(EVENT_MS + 1000),
    params: { drainId: PLAN_ID, action: 'plan' },
  });

const PLAN_OUTPUT = 'fleet-drain-plan v1 targets=1 unmatched=0 errors=0\n{"version":1,"targets":[]}\n';

function invocation(comment: string | undefined) {
  aws.ssm.on(GetCommandInvocationCommand).resolves({
    CommandId: COMMAND_ID,
    InstanceId: INSTANCE,
    DocumentName: DOCUMENT,
    Status: 'Success',
    StatusDetails: 'Success',
    ResponseCode: 0,
    StandardOutputContent: PLAN_OUTPUT,
    StandardErrorContent: '',
    ...(comment === undefined ? {} : { Comment: comment }),
  });
}

function expectNothingFinished() {
  expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  expect(aws.autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  expect(aws.events).not.toHaveReceivedCommand(PutEventsCommand);
}

/** A tick over one listed command and the sample instance in `state`. */
async function tickOver(command: ReturnType<typeof listedCommand>, state: LifecycleState) {
  serveCommands(aws, [command]);
  aws.autoScaling
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupWith([{ LifecycleState: state }])] });
  const { handler } = makeHandler({ nowMs: FIRST_DUE_TICK_MS });
  await handler(tickEvent(new Date(FIRST_DUE_TICK_MS).toISOString()));
}

describe('a plan command', () => {
  it('is not read back as a drain from the command history', () => {
    const read = (action: string) =>
      toDrainCommands({
        commandId: COMMAND_ID,
        requestedMs: EVENT_MS,
        status: 'Success',
        parameters: Object.fromEntries(
          Object.entries(planCommand('Success').Parameters ?? {}).map(([name, values]) => [
            name,
            name === 'action' ? [action] : values,
          ]),
        ),
      });
    expect(read('plan')).toEqual([]);
    // The same command with a drain's action is one: only `plan` is refused.
    expect(read('drain')[0]?.params.drainId).toBe(PLAN_ID);
  });

  it('ends with a status event the Lambda leaves alone, known by its comment without a listing', async () => {
    invocation(planComment(INSTANCE));
    const { handler, log } = makeHandler({ nowMs: EVENT_MS + 60_000 });

    const result = await handler(statusEvent());

    expect(result).toEqual({ kind: 'command-status', result: 'not-ours' });
    expect(aws.ssm).not.toHaveReceivedCommand(ListCommandsCommand);
    expectNothingFinished();
    expect(log.entries.some((entry) => /plan command/.test(entry.message))).toBe(true);
  });

  it('without its comment, is found in the listing and still left alone', async () => {
    invocation(undefined);
    serveCommands(aws, [planCommand('Success')]);
    const { handler } = makeHandler({ nowMs: EVENT_MS + 60_000 });

    const result = await handler(statusEvent());

    expect(result.result).not.toBe('completed');
    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandsCommand, { CommandId: COMMAND_ID });
    expectNothingFinished();
  });

  it('running on an instance in service is neither heartbeated, completed nor cancelled by the tick', async () => {
    await tickOver(planCommand('InProgress'), 'InService');
    expectNothingFinished();
  });

  it('ended on an instance that waits on the hook is not its drain: the tick adopts the instance', async () => {
    await tickOver(planCommand('Success'), 'Terminating:Wait');
    // Not finished as a drain: nothing completed, nothing read of it, nothing cancelled.
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(aws.ssm).not.toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: COMMAND_ID });
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
    // The instance waits undrained: the tick keeps its action alive by instance id, as for any adoption.
    expect(aws.autoScaling).not.toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: PLAN_ID,
    });
    expect(aws.autoScaling).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      InstanceId: INSTANCE,
    });
  });
});
