// `fleet-drainer status` over mocked SDK clients: each verdict, the idle fleet, --group, --json, and that
// its heartbeat and timeout agree with what the Lambda's reconciler does.

import { DescribeWarmPoolCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceInformationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
} from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/config';
import { toDrainCommands } from '../../lambda/decide/drain-command';
import { actionStartMs, planTick } from '../../lambda/decide/plan-tick';
import {
  COMMAND_ID,
  DOCUMENT,
  DRAINER,
  drainParameters,
  GROUP,
  HOOK,
  INSTANCE,
  mocks,
  NOW_MS,
  OTHER,
  resetMocks,
  run,
  serveAgents,
  serveGroup,
  TIMING,
  TOKEN,
} from './helpers';

beforeEach(() => resetMocks());

/** The command the Lambda sent for INSTANCE's drain, `ageMs` before now, with this status. */
function serveCommand(status: string, ageMs = 5 * 60_000, overrides: Record<string, string> = {}) {
  mocks.ssm.on(ListCommandsCommand).resolves({
    Commands: [
      {
        CommandId: COMMAND_ID,
        DocumentName: DOCUMENT,
        Parameters: drainParameters(overrides),
        RequestedDateTime: new Date(NOW_MS - ageMs),
        Status: status as never,
        Comment: `fleet-drainer:2 ${TOKEN} ${GROUP}`,
      },
    ],
  });
}

/** The --json form of a run, its one instance. */
async function statusJson(): Promise<Record<string, unknown>> {
  const result = await run('status', ['--json']);
  expect(result.code).toBe(0);
  const parsed = JSON.parse(result.stdout) as { drainers: { instances: Record<string, unknown>[] }[] };
  return parsed.drainers[0]?.instances[0] as Record<string, unknown>;
}

describe('status', () => {
  it('shows a running drain as draining, with its drain id, trigger, command, deadline and timeouts', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait', [OTHER]: 'InService' });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('InProgress');
    const result = await run('status', []);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(
      `stack FleetDrainer (eu-west-1) · hook ${HOOK} · groups ${GROUP} · 1 instance waiting`,
    );
    const row = lines.find((line) => line.startsWith(INSTANCE)) as string;
    expect(row.split(/ {2,}/)).toEqual([
      INSTANCE,
      GROUP,
      'Terminating:Wait',
      'draining',
      TOKEN,
      'lifecycle',
      COMMAND_ID,
      'InProgress',
      '5m',
      'in 20m',
      // The action started at deadline − max drain time (20:50): 100 × H = 1000 min later.
      '16h 30m',
      expect.stringMatching(/^in \d+m( \d+s)?$/),
    ]);
    // The instance in service is not listed.
    expect(result.stdout).not.toContain(OTHER);
    // DescribeInstanceInformation asked about the waiting instance only.
    expect(mocks.ssm.commandCalls(DescribeInstanceInformationCommand)[0]?.args[0].input.Filters).toEqual([
      { Key: 'InstanceIds', Values: [INSTANCE] },
    ]);
  });

  it('lists the document commands sent within the hook global timeout', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveCommand('InProgress');
    await run('status', []);
    const filters = mocks.ssm.commandCalls(ListCommandsCommand)[0]?.args[0].input.Filters;
    expect(filters).toEqual([
      { key: 'DocumentName', value: DOCUMENT },
      {
        key: 'InvokedAfter',
        value: new Date(NOW_MS - 100 * TIMING.heartbeatTimeoutSeconds * 1000).toISOString(),
      },
    ]);
  });

  it('gives the tick that heartbeats the drain next, the same as the reconciler', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('InProgress', 3 * 60_000);
    const status = await statusJson();
    const nextMs = Date.parse(status.nextHeartbeatAt as string);
    expect(nextMs).toBeGreaterThan(NOW_MS);
    // The Lambda's planner, given the same commands and instances at each tick between now and then.
    const parsed = parseConfig({
      FLEET_DRAINER_DOCUMENT_NAME: DOCUMENT,
      FLEET_DRAINER_GROUP_NAMES: GROUP,
      FLEET_DRAINER_HOOK_NAME: HOOK,
      FLEET_DRAINER_MAX_DRAIN_SECONDS: String(TIMING.maxDrainSeconds),
      FLEET_DRAINER_HEARTBEAT_TIMEOUT_SECONDS: String(TIMING.heartbeatTimeoutSeconds),
      FLEET_DRAINER_TICK_PERIOD_SECONDS: String(TIMING.tickPeriodSeconds),
      FLEET_DRAINER_EXPIRY_GRACE_SECONDS: String(TIMING.expiryGraceSeconds),
      FLEET_DRAINER_ADOPTION_DELAY_SECONDS: String(TIMING.adoptionDelaySeconds),
    });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const [command] = toDrainCommands({
      commandId: COMMAND_ID,
      parameters: drainParameters(),
      requestedMs: NOW_MS - 3 * 60_000,
      status: 'InProgress',
    });
    if (command === undefined) throw new Error('not a drain command');
    const heartbeats = (tickMs: number) =>
      planTick({
        commands: [command],
        instances: [{ instanceId: INSTANCE, groupName: GROUP, lifecycleState: 'Terminating:Wait' }],
        nowMs: tickMs,
        tickMs,
        config: parsed.config,
      }).heartbeat.length;
    for (let tickMs = NOW_MS + 60_000; tickMs < nextMs; tickMs += 60_000) expect(heartbeats(tickMs)).toBe(0);
    expect(heartbeats(nextMs)).toBe(1);
    // The action start and the global timeout, as the Lambda derives the start.
    expect(Date.parse(status.actionStartedAt as string)).toBe(actionStartMs(command, parsed.config));
    expect(Date.parse(status.globalTimeoutAt as string)).toBe(
      actionStartMs(command, parsed.config) + 100 * TIMING.heartbeatTimeoutSeconds * 1000,
    );
  });

  it('says finishing when the agent exited and the action is not completed yet', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('Success');
    const result = await run('status', []);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ {2}finishing {2}/);
    expect(result.stdout).toContain(
      `${INSTANCE} finishing: the agent exited (Success); the Lambda completes the lifecycle action`,
    );
  });

  it('reads each drain of a batched start by its own invocation: one ended, one still running', async () => {
    // A command of several instances stays InProgress until every invocation ends (monitor-commands.html).
    const otherToken = '11111111-2222-3333-4444-555555555555';
    serveGroup({ [INSTANCE]: 'Terminating:Wait', [OTHER]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online', [OTHER]: 'Online' });
    serveCommand('InProgress', 5 * 60_000, { drainIds: `${INSTANCE}=${TOKEN},${OTHER}=${otherToken}` });
    mocks.ssm.on(ListCommandInvocationsCommand, { CommandId: COMMAND_ID }).resolves({
      CommandInvocations: [
        { CommandId: COMMAND_ID, InstanceId: INSTANCE, Status: 'Success' },
        { CommandId: COMMAND_ID, InstanceId: OTHER, Status: 'InProgress' },
      ],
    });
    const result = await run('status', ['--json']);
    expect(result.code, result.stderr).toBe(0);
    const [drainer] = (JSON.parse(result.stdout) as { drainers: { instances: Record<string, unknown>[] }[] })
      .drainers;
    const byId = new Map(drainer?.instances.map((instance) => [instance.instanceId, instance]));
    expect(byId.get(INSTANCE)).toMatchObject({
      verdict: 'finishing',
      drainId: TOKEN,
      commandStatus: 'Success',
    });
    expect(byId.get(OTHER)).toMatchObject({
      verdict: 'draining',
      drainId: otherToken,
      commandStatus: 'InProgress',
    });
  });

  it('says unreachable when SSM no longer knows the instance agent', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveCommand('InProgress');
    const result = await run('status', []);
    expect(result.stdout).toMatch(/ {2}unreachable {2}/);
    expect(result.stdout).toContain(
      `${INSTANCE} unreachable: the instance is gone: its SSM agent is no longer connected`,
    );
  });

  it('says unreachable when the drain was never delivered to an agent that is offline', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'ConnectionLost' });
    serveCommand('Pending', 5 * 60_000);
    const status = await statusJson();
    expect(status.verdict).toBe('unreachable');
    expect(status.reason).toMatch(/^the drain command was never delivered: still Pending 120 s after/);
  });

  it('says stuck, and why, when no drain command exists for a waiting instance', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    mocks.ssm.on(ListCommandsCommand).resolves({ Commands: [] });
    const result = await run('status', []);
    expect(result.code).toBe(0);
    const row = result.stdout.split('\n').find((line) => line.startsWith(INSTANCE)) as string;
    expect(row.split(/ {2,}/).slice(3, 5)).toEqual(['stuck', '—']);
    expect(result.stdout).toContain(
      `${INSTANCE} stuck: no drain command for this instance: the reconciler adopts a waiting instance within about 105 s`,
    );
  });

  it('says stuck when a drain runs far past its deadline and expiry grace', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('InProgress', 40 * 60_000, { deadline: '2026-12-06T20:50:00Z' });
    const status = await statusJson();
    expect(status.verdict).toBe('stuck');
    expect(status.reason).toMatch(
      /past its deadline and expiry grace: the reconciler should have completed it/,
    );
  });

  it('ignores plan commands: they are not drains', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    mocks.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        {
          CommandId: COMMAND_ID,
          DocumentName: DOCUMENT,
          Parameters: drainParameters({ drainId: 'plan-0123456789ab', action: 'plan' }),
          RequestedDateTime: new Date(NOW_MS - 60_000),
          Status: 'Success',
        },
      ],
    });
    expect((await statusJson()).verdict).toBe('stuck');
  });

  it('includes instances going back to a warm pool (Warmed:Pending:Wait, listed by DescribeWarmPool only)', async () => {
    mocks.autoScaling.on(DescribeWarmPoolCommand).resolves({
      WarmPoolConfiguration: { PoolState: 'Running' },
      Instances: [
        {
          InstanceId: INSTANCE,
          LifecycleState: 'Warmed:Pending:Wait',
          AvailabilityZone: 'eu-west-1a',
          HealthStatus: 'Healthy',
          ProtectedFromScaleIn: false,
        },
      ],
    });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('InProgress');
    const status = await statusJson();
    expect(status).toMatchObject({ lifecycleState: 'Warmed:Pending:Wait', verdict: 'draining' });
  });

  it('on an idle fleet says no instance waits, and lists no command', async () => {
    serveGroup({ [INSTANCE]: 'InService' });
    const result = await run('status', []);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `stack FleetDrainer (eu-west-1) · hook ${HOOK} · groups ${GROUP} · no instance waits on the hook\n`,
    );
    expect(mocks.ssm.calls()).toHaveLength(0);
  });

  it('--json gives every field, times in ISO 8601', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('InProgress');
    const result = await run('status', ['--json']);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({
      stack: 'FleetDrainer',
      region: 'eu-west-1',
      at: '2026-12-06T21:00:00Z',
      drainers: [
        {
          document: DOCUMENT,
          hook: HOOK,
          groups: [GROUP],
          timingKnown: true,
          instances: [
            {
              instanceId: INSTANCE,
              groupName: GROUP,
              lifecycleState: 'Terminating:Wait',
              verdict: 'draining',
              drainId: TOKEN,
              trigger: 'lifecycle',
              commandId: COMMAND_ID,
              commandStatus: 'InProgress',
              requestedAt: '2026-12-06T20:55:00Z',
              deadline: '2026-12-06T21:20:00Z',
              actionStartedAt: '2026-12-06T20:50:00Z',
              globalTimeoutAt: '2026-12-07T13:30:00Z',
              nextHeartbeatAt: expect.stringMatching(/^2026-12-06T21:\d\d:00Z$/),
            },
          ],
        },
      ],
    });
  });

  it('--group covers one group; a group the stack does not drain is named, exit 66', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveCommand('InProgress');
    expect((await run('status', ['--group', GROUP])).code).toBe(0);
    const other = await run('status', ['--group', 'api-asg']);
    expect(other.code).toBe(66);
    expect(other.stderr).toBe(
      `fleet-drainer status: group api-asg is not drained by stack FleetDrainer: pass --group with one of ${GROUP}, or the --stack that drains it\n`,
    );
  });

  it('without the drainer timing in the stack output, leaves heartbeat and timeout out and says why', async () => {
    resetMocks({ ...DRAINER, timing: undefined });
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    serveAgents({ [INSTANCE]: 'Online' });
    serveCommand('InProgress');
    const result = await run('status', []);
    const row = result.stdout.split('\n').find((line) => line.startsWith(INSTANCE)) as string;
    expect(row.split(/ {2,}/).slice(-2)).toEqual(['—', '—']);
    expect(result.stdout).toContain('carries no timing: timeout and heartbeat are not shown');
  });
});
