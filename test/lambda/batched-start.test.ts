// Batched starts: lifecycle events of one group that arrive in one SQS batch share their SendCommands (50
// instances each), each drain keeps its own id (the token) through the `drainIds` parameter, the batch's
// deadline is the earliest, and one instance's own failure stays its own.

import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CancelCommandCommand,
  type Command,
  GetCommandInvocationCommand,
  InvalidInstanceId,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BATCH_DEADLINE_SPREAD_MS,
  BATCH_LIMIT,
  batchComment,
  batchParameters,
  formatDeadline,
  planBatches,
  readDrainIds,
  type SentDrainParameters,
  toDrainCommands,
} from '../../lambda/decide/drain-command';
import {
  type AwsMocks,
  DOCUMENT,
  drainParameters,
  EVENT_MS,
  EVENT_TIME,
  GROUP,
  groupWith,
  HOOK,
  lifecycleEvent,
  MAX_DRAIN_SECONDS,
  makeHandler,
  mockAws,
  reportJson,
  sentEvents,
  serveCommands,
  serveInvocations,
  statusEvent,
  tickEvent,
} from './helpers';

expect.extend(allCustomMatcher);

let aws: AwsMocks;
beforeEach(() => {
  aws = mockAws();
});

const host = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;
const token = (n: number) =>
  `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const commandIdOf = (n: number) => `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** The lifecycle event of instance n (group and time as given). */
function eventOf(n: number, { group = GROUP, time = EVENT_TIME } = {}) {
  return {
    ...lifecycleEvent(
      { EC2InstanceId: host(n), LifecycleActionToken: token(n), AutoScalingGroupName: group },
      time,
    ),
    id: `event-${n}`,
  };
}

/** An SQS batch of events, each a prompt first delivery. */
function sqsBatch(events: Record<string, unknown>[]) {
  return {
    Records: events.map((event, index) => ({
      messageId: `m-${index}`,
      receiptHandle: `r-${index}`,
      body: JSON.stringify(event),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.parse(String(event.time)) + 500),
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: String(Date.parse(String(event.time)) + 600),
      },
      messageAttributes: {},
      md5OfBody: 'x',
      eventSource: 'aws:sqs' as const,
      eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:lifecycle',
      awsRegion: 'us-west-2',
    })),
  };
}

/** SendCommand answers a new command id per call; `refuse` lists instances SSM cannot reach. */
function serveSends(refuse: ReadonlySet<string> = new Set()) {
  let sent = 0;
  aws.ssm.on(SendCommandCommand).callsFake(async (input: { InstanceIds?: string[] }) => {
    const refused = (input.InstanceIds ?? []).filter((id) => refuse.has(id));
    if (refused.length > 0) {
      throw new InvalidInstanceId({
        $metadata: {},
        message: `Instances [[${refused.join(', ')}]] not in a valid state for account 123456789012`,
      });
    }
    sent += 1;
    return { Command: { CommandId: commandIdOf(sent) } };
  });
}

const sendInputs = () => aws.ssm.commandCalls(SendCommandCommand).map((call) => call.args[0].input);

describe('batched starts', () => {
  it('starts 120 drains of one group with three SendCommands of 50, 50 and 20, each drain under its own id', async () => {
    serveSends();
    const { handler } = makeHandler();
    const numbers = Array.from({ length: 120 }, (_, index) => index + 1);

    const response = await handler(sqsBatch(numbers.map((n) => eventOf(n))));

    expect(response.batchItemFailures).toEqual([]);
    const inputs = sendInputs();
    expect(inputs.map((input) => input.InstanceIds?.length).sort()).toEqual([20, 50, 50]);
    // A prompt first delivery lists nothing before sending.
    expect(aws.ssm).not.toHaveReceivedCommand(ListCommandsCommand);
    const seen = new Map<string, string>();
    for (const input of inputs) {
      const pairs = readDrainIds(input.Parameters?.drainIds?.[0]);
      expect([...pairs.keys()]).toEqual(input.InstanceIds);
      expect(input.Comment).toBe(batchComment(GROUP));
      // All hosts at once, and no early Failed for the whole batch when one host fails (SSM's MaxErrors 0).
      expect(input).toMatchObject({ MaxConcurrency: '100%', MaxErrors: '100%' });
      expect(input.Parameters?.autoScalingGroupName).toEqual([GROUP]);
      expect(input.Parameters?.lifecycleHookName).toEqual([HOOK]);
      // drainId and instanceId name the first drain, so the parameters stay valid for the document.
      const [firstHost, firstDrain] = [...pairs][0] as [string, string];
      expect(input.Parameters?.instanceId).toEqual([firstHost]);
      expect(input.Parameters?.drainId).toEqual([firstDrain]);
      for (const [instanceId, drainId] of pairs) seen.set(instanceId, drainId);
    }
    expect(seen).toEqual(new Map(numbers.map((n) => [host(n), token(n)])));
    const started = sentEvents(aws).filter((event) => event.detailType === 'Fleet Drain Started');
    expect(started.map((event) => event.detail.drainId).sort()).toEqual(numbers.map(token).sort());
    for (const { detail } of started) {
      expect(detail.lifecycleActionToken).toBe(detail.drainId);
      expect(seen.get(String(detail.instanceId))).toBe(detail.drainId);
    }
    expect(aws.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('sends each group its own commands', async () => {
    serveSends();
    const { handler } = makeHandler();
    await handler(
      sqsBatch([
        eventOf(1),
        eventOf(2, { group: 'other-asg' }),
        eventOf(3),
        eventOf(4, { group: 'other-asg' }),
      ]),
    );
    const byGroup = sendInputs().map((input) => [
      input.Parameters?.autoScalingGroupName?.[0],
      input.InstanceIds,
    ]);
    expect(byGroup).toEqual(
      expect.arrayContaining([
        [GROUP, [host(1), host(3)]],
        ['other-asg', [host(2), host(4)]],
      ]),
    );
    expect(byGroup).toHaveLength(2);
  });

  it('gives a batch the earliest deadline of its drains, and announces that one for each', async () => {
    serveSends();
    const { handler } = makeHandler({ nowMs: EVENT_MS + 30_000 });
    const later = new Date(EVENT_MS + 20_000).toISOString().replace('.000Z', 'Z');
    await handler(sqsBatch([eventOf(1, { time: later }), eventOf(2)]));
    const earliest = formatDeadline(EVENT_MS + MAX_DRAIN_SECONDS * 1000);
    expect(sendInputs()).toHaveLength(1);
    expect(sendInputs()[0]?.Parameters?.deadline).toEqual([earliest]);
    expect(sentEvents(aws).map((event) => event.detail.deadline)).toEqual([earliest, earliest]);
  });

  it('keeps an unreachable instance’s failure its own: its batch-mates start at once, it waits out its grace, then completes unreachable', async () => {
    serveSends(new Set([host(7)]));
    const { handler, clock } = makeHandler();
    const numbers = Array.from({ length: 10 }, (_, index) => index + 1);

    const response = await handler(sqsBatch(numbers.map((n) => eventOf(n))));

    expect(response.batchItemFailures).toEqual([]);
    const delivered = sendInputs()
      .filter((input) => !(input.InstanceIds ?? []).includes(host(7)))
      .flatMap((input) => input.InstanceIds ?? []);
    // Every batch-mate got exactly one command (the halves of the refused batch); the refused one none.
    expect(delivered.sort()).toEqual(
      numbers
        .filter((n) => n !== 7)
        .map(host)
        .sort(),
    );
    // Alone, it was retried for the unreachable grace (30 s by default), every 5 s.
    const alone = sendInputs().filter((input) => input.InstanceIds?.join() === host(7));
    expect(alone.length).toBeGreaterThan(1);
    expect(clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThanOrEqual(30_000);
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleActionToken: token(7),
      LifecycleActionResult: 'CONTINUE',
    });
    const finished = sentEvents(aws).filter((event) => event.detailType === 'Fleet Drain Finished');
    expect(finished).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({ drainId: token(7), outcome: 'unreachable' }),
      }),
    ]);
    const started = sentEvents(aws).filter((event) => event.detailType === 'Fleet Drain Started');
    expect(started.map((event) => event.detail.instanceId).sort()).toEqual(delivered.sort());
  });

  it('fails only the records of a batch whose SendCommand failed for good', async () => {
    aws.ssm.on(SendCommandCommand).callsFake(async (input: { Parameters?: Record<string, string[]> }) => {
      if (input.Parameters?.autoScalingGroupName?.[0] === 'other-asg')
        throw Object.assign(new Error('boom'), { name: 'InternalServerError', $fault: 'server' });
      return { Command: { CommandId: commandIdOf(1) } };
    });
    const { handler } = makeHandler();
    const response = await handler(
      sqsBatch([
        eventOf(1),
        eventOf(2, { group: 'other-asg' }),
        eventOf(3),
        eventOf(4, { group: 'other-asg' }),
      ]),
    );
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'm-1',
      'm-3',
    ]);
  });
});

/** A batched command as ListCommands shows it. */
function batchedCommand(numbers: number[], overrides: Partial<Command> = {}): Command {
  const members: SentDrainParameters[] = numbers.map((n) => ({
    ...(Object.fromEntries(
      Object.entries(drainParameters({ drainId: token(n), instanceId: host(n) })).map(([k, v]) => [k, v[0]]),
    ) as unknown as SentDrainParameters),
  }));
  const params = batchParameters(members);
  return {
    CommandId: commandIdOf(1),
    DocumentName: DOCUMENT,
    Parameters: Object.fromEntries(Object.entries(params).map(([name, value]) => [name, [String(value)]])),
    InstanceIds: numbers.map(host),
    Comment: batchComment(GROUP),
    RequestedDateTime: new Date(EVENT_MS + 1000),
    Status: 'InProgress',
    ...overrides,
  };
}

describe('batched commands, read back', () => {
  it('finishes each drain of a batched command by its own token, reading the command once for all', async () => {
    serveCommands(aws, [batchedCommand([1, 2])]);
    aws.ssm.on(GetCommandInvocationCommand).callsFake(async (input: { InstanceId?: string }) => {
      const n = input.InstanceId === host(1) ? 1 : 2;
      return {
        CommandId: commandIdOf(1),
        InstanceId: host(n),
        Comment: batchComment(GROUP),
        DocumentName: DOCUMENT,
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: `${reportJson({ id: token(n) })}\n`,
      };
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 300_000 });
    for (const n of [1, 2]) {
      const event = statusEvent({ 'command-id': commandIdOf(1), 'instance-id': host(n) });
      expect(await handler(event)).toEqual({ kind: 'command-status', result: 'completed' });
    }
    for (const n of [1, 2]) {
      expect(aws.autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
        LifecycleActionToken: token(n),
        LifecycleActionResult: 'CONTINUE',
      });
    }
    expect(aws.ssm).toHaveReceivedCommandTimes(ListCommandsCommand, 1);
    expect(aws.ssm).not.toHaveReceivedCommand(ListCommandInvocationsCommand);
  });

  it('completes a drain whose invocation was Undeliverable as unreachable, and leaves its batch-mate running', async () => {
    serveCommands(aws, [batchedCommand([1, 2])]);
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      CommandId: commandIdOf(1),
      InstanceId: host(1),
      Comment: batchComment(GROUP),
      DocumentName: DOCUMENT,
      Status: 'Undeliverable' as never,
      StatusDetails: 'Undeliverable',
      ResponseCode: -1,
    });
    const { handler } = makeHandler({ nowMs: EVENT_MS + 300_000 });
    await handler(
      statusEvent({ 'command-id': commandIdOf(1), 'instance-id': host(1), status: 'Undeliverable' }),
    );
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: token(1),
      LifecycleActionResult: 'CONTINUE',
    });
    expect(sentEvents(aws)[0]?.detail).toMatchObject({ drainId: token(1), outcome: 'unreachable' });
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('reads a running batch per invocation: the tick finishes the ended drain and keeps the running one in flight', async () => {
    const command = batchedCommand([1, 2]);
    serveCommands(aws, [command]);
    aws.ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: commandIdOf(1), InstanceId: host(1), Status: 'Success' },
        { CommandId: commandIdOf(1), InstanceId: host(2), Status: 'InProgress' },
      ],
    });
    aws.ssm.on(GetCommandInvocationCommand).resolves({
      CommandId: commandIdOf(1),
      InstanceId: host(1),
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${reportJson({ id: token(1) })}\n`,
      // Ended three minutes ago: its status event is lost, and the drain still owns the action.
      ExecutionEndDateTime: new Date(EVENT_MS + 17 * 60_000).toISOString(),
    });
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [groupWith([{ InstanceId: host(1) }, { InstanceId: host(2) }])],
    });
    // Late enough that both drains are due and the ended one's status event counts as lost.
    const tickMs = EVENT_MS + 20 * 60_000;
    const { handler } = makeHandler({ nowMs: tickMs });
    const result = await handler(tickEvent(new Date(tickMs).toISOString()));
    expect(JSON.parse(String(result.result))).toMatchObject({ finished: 1, inFlight: 1 });

    expect(aws.ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: commandIdOf(1) });
    expect(aws.autoScaling).toHaveReceivedCommandExactlyOnceWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: token(1),
    });
    expect(aws.autoScaling).not.toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: token(1),
    });
    expect(aws.autoScaling).not.toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: token(2),
    });
    // Nothing cancels the batch: the running drain goes on.
    expect(aws.ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('reads many running batches with a listing per unended status, all pages: an instance it leaves out has ended', async () => {
    // Six batches of twenty: nineteen of each still run (Pending, Delayed or InProgress), the last one ended; a
    // seventh batch, just sent, is not listed yet. 76 invocations InProgress: a listing of two pages.
    const members = (k: number) => Array.from({ length: 20 }, (_, index) => 20 * k + index + 1);
    const batches = Array.from({ length: 7 }, (_, k) =>
      batchedCommand(members(k), { CommandId: commandIdOf(100 + k) }),
    );
    const running = ['Pending', 'Delayed', 'InProgress', 'InProgress', 'InProgress', 'InProgress'] as const;
    serveCommands(aws, batches);
    serveInvocations(
      aws,
      running.flatMap((status, k) =>
        members(k).map((n) => ({
          CommandId: commandIdOf(100 + k),
          InstanceId: host(n),
          DocumentName: DOCUMENT,
          Status: n % 20 === 0 ? ('Success' as const) : status,
        })),
      ),
    );
    aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [groupWith(Array.from({ length: 140 }, (_, n) => ({ InstanceId: host(n + 1) })))],
    });
    const tickMs = EVENT_MS + 20 * 60_000;
    const { handler } = makeHandler({ nowMs: tickMs });
    const result = await handler(tickEvent(new Date(tickMs).toISOString()));

    // The document's invocations of each status that has not ended (ExecutionStage is ListCommands' only),
    // in the order an invocation goes through them: three listings, the last in two pages, not a call per batch.
    const listings = aws.ssm
      .commandCalls(ListCommandInvocationsCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.CommandId === undefined);
    const asked = listings.map((input) => JSON.stringify([input.Filters, input.NextToken !== undefined]));
    const expected = [
      ['Pending', false],
      ['Delayed', false],
      ['InProgress', false],
      ['InProgress', true],
    ].map(([status, paged]) =>
      JSON.stringify([
        [
          { key: 'DocumentName', value: DOCUMENT },
          { key: 'Status', value: status },
        ],
        paged,
      ]),
    );
    expect(asked).toEqual(expected);
    expect(listings.every((input) => input.MaxResults === 50)).toBe(true);
    // Running: the 114 listed, and the twenty drains of the batch SSM does not show yet.
    expect(JSON.parse(String(result.result))).toMatchObject({ inFlight: 134 });
  });

  it('takes a redelivered event whose drain is in a batched command for a duplicate', async () => {
    serveCommands(aws, [batchedCommand([1, 2])]);
    aws.ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: commandIdOf(1), InstanceId: host(1), Status: 'InProgress' },
        { CommandId: commandIdOf(1), InstanceId: host(2), Status: 'InProgress' },
      ],
    });
    const { handler } = makeHandler();
    const batch = sqsBatch([eventOf(2)]);
    (
      batch.Records[0] as { attributes: { ApproximateReceiveCount: string } }
    ).attributes.ApproximateReceiveCount = '2';
    await handler(batch);
    expect(aws.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe('planBatches', () => {
  const start = (n: number, overrides: Partial<SentDrainParameters> = {}): SentDrainParameters => ({
    drainId: token(n),
    instanceId: host(n),
    deadline: formatDeadline(EVENT_MS + MAX_DRAIN_SECONDS * 1000),
    autoScalingGroupName: GROUP,
    lifecycleHookName: HOOK,
    action: 'drain',
    ...overrides,
  });

  it('fills batches up to SendCommand’s 50 instances', () => {
    const starts = Array.from({ length: 2 * BATCH_LIMIT + 1 }, (_, index) => start(index + 1));
    expect(planBatches(starts).map((batch) => batch.length)).toEqual([BATCH_LIMIT, BATCH_LIMIT, 1]);
  });

  it('never batches different groups, hooks or actions together', () => {
    const starts = [
      start(1),
      start(2, { autoScalingGroupName: 'other-asg' }),
      start(3, { lifecycleHookName: 'other-hook' }),
      start(4, { action: 'prepare' }),
      start(5),
    ];
    expect(planBatches(starts)).toEqual([[0, 4], [1], [2], [3]]);
  });

  it('puts an instance named twice in separate batches', () => {
    const starts = [start(1), start(1, { drainId: token(9) }), start(2)];
    expect(planBatches(starts)).toEqual([[0, 2], [1]]);
  });

  it('never batches a drain with one whose deadline is more than the spread earlier', () => {
    const late = formatDeadline(EVENT_MS + MAX_DRAIN_SECONDS * 1000 + BATCH_DEADLINE_SPREAD_MS + 1000);
    expect(planBatches([start(1, { deadline: late }), start(2), start(3)])).toEqual([[1, 2], [0]]);
  });

  it('sends a batch of one as a drain of its own, without drainIds', () => {
    expect(batchParameters([start(1)])).toEqual(start(1));
  });

  it('reads a batched command back as one drain per instance, with its invocation’s status', () => {
    const params = batchParameters([start(1), start(2)]);
    const drains = toDrainCommands({
      commandId: 'c',
      requestedMs: EVENT_MS,
      status: 'InProgress',
      parameters: Object.fromEntries(Object.entries(params).map(([name, value]) => [name, [String(value)]])),
      invocationStatuses: new Map([[host(1), 'Success']]),
    });
    expect(
      drains.map(({ status, params: { drainId, instanceId } }) => [drainId, instanceId, status]),
    ).toEqual([
      [token(1), host(1), 'Success'],
      [token(2), host(2), 'InProgress'],
    ]);
  });
});
