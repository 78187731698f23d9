// `fleet-drainer report` over mocked SDK clients: by instance (the latest drain, never a plan) and by
// command id, the per-target table, --json, a truncated output, a drain still running, and bad input.

import { GetCommandInvocationCommand, ListCommandsCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { drainOutput } from '../../agent/report/compact-report';
import type { DrainReport } from '../../agent/report/report';
import { formatPlanOutput, type PlanOutput } from '../../common/plan-output';
import { SSM_TRUNCATED_SUFFIX } from '../../lambda/decide/parse-report';
import {
  awsCallCount,
  COMMAND_ID,
  DOCUMENT,
  drainParameters,
  INSTANCE,
  mocks,
  NOW_MS,
  resetMocks,
  run,
  ssmError,
  TOKEN,
} from './helpers';

const OLDER_COMMAND = '11111111-2222-3333-4444-555555555555';
const PLAN_COMMAND = '99999999-8888-7777-6666-555555555555';

/** What the agent reported for a drain of two targets: one drained, one forced. */
const REPORT: DrainReport = {
  version: 1,
  id: TOKEN,
  outcome: 'forced',
  exitCode: 3,
  startedAt: '2026-12-06T20:55:10.000Z',
  finishedAt: '2026-12-06T20:55:42.500Z',
  durationMs: 32_500,
  joined: false,
  deadline: '2026-12-06T21:20:00Z',
  prepare: [{ step: 'touch /run/app/draining', ok: true, durationMs: 3 }],
  targets: [
    {
      name: 'web',
      kind: 'process',
      outcome: 'drained',
      processes: [
        {
          pid: 101,
          command: 'node server.js',
          signals: [['SIGTERM', 0]],
          exitedAfterMs: 1200,
          forced: false,
        },
        {
          pid: 102,
          command: 'node server.js',
          signals: [['SIGTERM', 0]],
          exitedAfterMs: 2400,
          forced: false,
        },
      ],
    },
    {
      name: 'jobs',
      kind: 'systemd',
      outcome: 'forced',
      processes: [
        {
          pid: 201,
          command: 'jobs.service',
          signals: [
            ['SIGTERM', 2400],
            ['SIGKILL', 32_400],
          ],
          exitedAfterMs: 32_450,
          forced: true,
        },
      ],
    },
  ],
  finally: [],
};

/** ListCommands answers these commands of INSTANCE (newest last). */
function serveHistory() {
  mocks.ssm.on(ListCommandsCommand).resolves({
    Commands: [
      {
        CommandId: OLDER_COMMAND,
        DocumentName: DOCUMENT,
        Parameters: drainParameters({ drainId: 'adopted-i-0123456789abcdef0-202612050900' }),
        RequestedDateTime: new Date(NOW_MS - 86_400_000),
        Status: 'Success',
      },
      {
        CommandId: COMMAND_ID,
        DocumentName: DOCUMENT,
        Parameters: drainParameters(),
        RequestedDateTime: new Date(NOW_MS - 5 * 60_000),
        Status: 'Failed',
      },
      {
        CommandId: PLAN_COMMAND,
        DocumentName: DOCUMENT,
        Parameters: drainParameters({ drainId: 'plan-0123456789ab', action: 'plan' }),
        RequestedDateTime: new Date(NOW_MS - 60_000),
        Status: 'Success',
      },
    ],
  });
}

function serveInvocation(stdout: string, status = 'Failed', responseCode = 3) {
  mocks.ssm.on(GetCommandInvocationCommand).resolves({
    CommandId: COMMAND_ID,
    InstanceId: INSTANCE,
    DocumentName: DOCUMENT,
    Status: status as never,
    StatusDetails: status,
    ResponseCode: responseCode,
    ExecutionStartDateTime: '2026-12-06T20:55:09.000Z',
    ExecutionEndDateTime: status === 'InProgress' ? '' : '2026-12-06T20:55:43.000Z',
    StandardOutputContent: stdout,
    StandardErrorContent: '',
  });
}

beforeEach(() => resetMocks());

describe('report', () => {
  it("of an instance: its latest drain's report, one row per target like the drill's table", async () => {
    serveHistory();
    serveInvocation(drainOutput(REPORT));
    const result = await run('report', [INSTANCE]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual([
      `drain ${TOKEN} (lifecycle) on ${INSTANCE}`,
      `command ${COMMAND_ID} · Failed (exit 3) · sent 2026-12-06T20:55:00Z · ran 34s`,
      'outcome forced · exit 3 · drained in 32.50 s · deadline 2026-12-06T21:20:00Z',
      '',
      'target  kind     outcome  processes  stopped  forced  signals              slowest  error',
      'web     process  drained  2          2        0       SIGTERM×2            2.40 s',
      'jobs    systemd  forced   1          1        1       SIGTERM×1 SIGKILL×1  32.45 s',
      '',
      'prepare: touch /run/app/draining ok (0.00 s)',
      '',
    ]);
    // The instance's commands of the drain document; the plan command, though newer, is not a drain.
    expect(mocks.ssm.commandCalls(ListCommandsCommand)[0]?.args[0].input).toMatchObject({
      InstanceId: INSTANCE,
      Filters: [{ key: 'DocumentName', value: DOCUMENT }],
    });
    expect(mocks.ssm.commandCalls(GetCommandInvocationCommand)[0]?.args[0].input).toEqual({
      CommandId: COMMAND_ID,
      InstanceId: INSTANCE,
    });
  });

  it('of a command id: that command, found without filters', async () => {
    mocks.ssm.on(ListCommandsCommand, { CommandId: COMMAND_ID }).resolves({
      Commands: [
        {
          CommandId: COMMAND_ID,
          DocumentName: DOCUMENT,
          Parameters: drainParameters(),
          RequestedDateTime: new Date(NOW_MS - 5 * 60_000),
          Status: 'Failed',
        },
      ],
    });
    serveInvocation(drainOutput(REPORT));
    const result = await run('report', [COMMAND_ID]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`drain ${TOKEN} (lifecycle) on ${INSTANCE}`);
    expect(mocks.ssm.commandCalls(ListCommandsCommand)[0]?.args[0].input.Filters).toBeUndefined();
  });

  it('--json gives the command facts and the agent report as it printed it', async () => {
    serveHistory();
    serveInvocation(drainOutput(REPORT));
    const result = await run('report', [INSTANCE, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      instanceId: INSTANCE,
      commandId: COMMAND_ID,
      drainId: TOKEN,
      trigger: 'lifecycle',
      status: 'Failed',
      statusDetails: 'Failed',
      responseCode: 3,
      requestedAt: '2026-12-06T20:55:00Z',
      startedAt: '2026-12-06T20:55:09Z',
      endedAt: '2026-12-06T20:55:43Z',
      truncated: false,
      summary: { outcome: 'forced', exitCode: 3, id: TOKEN, joined: false },
      report: REPORT,
    });
  });

  it('says when SSM truncated the output, and gives the outcome from the summary line', async () => {
    serveHistory();
    const whole = drainOutput(REPORT);
    serveInvocation(`${whole.slice(0, whole.indexOf('"targets"') + 20)}\n${SSM_TRUNCATED_SUFFIX}`);
    const result = await run('report', [INSTANCE]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("outcome forced · exit 3 (from the agent's summary line)");
    expect(result.stdout).toContain('output truncated: SSM keeps the first 24,000 characters');
    const json = JSON.parse((await run('report', [INSTANCE, '--json'])).stdout);
    expect(json).toMatchObject({ truncated: true, report: null, summary: { outcome: 'forced' } });
  });

  it('of a drain still running: says the report comes when the agent exits', async () => {
    serveHistory();
    serveInvocation('', 'InProgress', -1);
    const result = await run('report', [INSTANCE]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `command ${COMMAND_ID} · InProgress · sent 2026-12-06T20:55:00Z · ran 4m 51s so far`,
    );
    expect(result.stdout).toContain('the drain is still running: the agent prints its report when it exits');
  });

  it('of a plan command id: its plan, as plan prints it', async () => {
    mocks.ssm.on(ListCommandsCommand, { CommandId: PLAN_COMMAND }).resolves({
      Commands: [
        {
          CommandId: PLAN_COMMAND,
          DocumentName: DOCUMENT,
          Parameters: drainParameters({ drainId: 'plan-0123456789ab', action: 'plan' }),
          RequestedDateTime: new Date(NOW_MS - 60_000),
          Status: 'Success',
        },
      ],
    });
    const plan: PlanOutput = {
      version: 1,
      targets: [
        {
          name: 'web',
          kind: 'process',
          schedule: 'TERM/30s',
          after: [],
          matches: 0,
          unmatched: true,
          processes: [],
        },
      ],
    };
    serveInvocation(formatPlanOutput(plan), 'Success', 0);
    const result = await run('report', [PLAN_COMMAND]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`plan command ${PLAN_COMMAND} on ${INSTANCE} · Success`);
    expect(result.stdout).toContain(`WARNING: 1 of 1 targets match nothing on ${INSTANCE}: web.`);
  });

  it('of an instance never drained: names it, exit 66', async () => {
    mocks.ssm.on(ListCommandsCommand).resolves({ Commands: [] });
    const result = await run('report', [INSTANCE]);
    expect(result.code).toBe(66);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `fleet-drainer report: no drain command for ${INSTANCE} in the history of ${DOCUMENT}: it was never drained here (pass --region where it ran), or SSM no longer keeps the command\n`,
    );
  });

  it('of a command id SSM does not know: exit 66', async () => {
    mocks.ssm.on(ListCommandsCommand).rejects(ssmError('InvalidCommandId', ''));
    const result = await run('report', [COMMAND_ID]);
    expect(result.code).toBe(66);
    expect(result.stderr).toMatch(
      /^fleet-drainer report: command .* is not a command of FleetDrainer-Doc-1A2B3C/,
    );
  });

  it.each([[[]], [['i-123']], [['not-an-id']], [[INSTANCE, COMMAND_ID]], [[INSTANCE, '--group', 'x']]])(
    'refuses %j with exit 64, before any AWS call',
    async (args) => {
      const result = await run('report', args);
      expect(result.code).toBe(64);
      expect(result.stderr.split('\n')).toHaveLength(2);
      expect(awsCallCount()).toBe(0);
    },
  );
});
