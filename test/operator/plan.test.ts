// `fleet-drainer plan` over mocked SDK clients: what it sends (plan mode, never a drain), the bounded wait
// for the answer, the flag on a target that matches nothing, --policy checked before any AWS call, and the
// instance that is not the stack's or not SSM's.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { DRAIN_PARAMETERS } from '../../agent/policy/drain-parameters';
import { formatPlanOutput, type PlanOutput, type PlanTarget } from '../../common/plan-output';
import { PLAN_POLL_MS, PLAN_WAIT_MS } from '../../operator/plan';
import { policyParameterSpec } from '../../operator/plan-request';
import { displayCommand } from '../../operator/plan-view';
import {
  awsCallCount,
  COMMAND_ID,
  DOCUMENT,
  GROUP,
  HOOK,
  INSTANCE,
  mocks,
  resetMocks,
  run,
  serveAgents,
  ssmError,
} from './helpers';

/** The agent's plan (agent/cli/plan.ts) of a host where `workers` matches two processes and `queue` none. */
const PLAN: PlanOutput = {
  version: 1,
  targets: [
    {
      name: 'workers',
      kind: 'process',
      schedule: 'HUP/10m/HUP/20s/KILL/5s',
      after: [],
      matches: 3,
      processes: [
        { pid: 4242, command: 'lava-worker --queue a', matched: true },
        { pid: 4243, command: 'lava-worker --queue b', matched: true },
        { pid: 4250, command: 'sh -c child', matched: false },
      ],
    },
    {
      name: 'queue',
      kind: 'systemd',
      schedule: 'TERM/5m/KILL/10s',
      after: ['workers'],
      matches: 0,
      unmatched: true,
      processes: [],
    },
  ],
};

const ALL_MATCH: PlanOutput = { ...PLAN, targets: [PLAN.targets[0] as PlanTarget] };

const POLICY = {
  version: 1,
  targets: [{ name: 'workers', match: { cmdline: 'lava-worker' }, schedule: 'TERM/30s/KILL/5s' }],
};

function policyFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'plan-policy-')), 'drain.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function serveInstance(groupName = GROUP) {
  mocks.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [
      {
        InstanceId: INSTANCE,
        AutoScalingGroupName: groupName,
        AvailabilityZone: 'eu-west-1a',
        LifecycleState: 'InService',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
      },
    ],
  });
  serveAgents({ [INSTANCE]: 'Online' });
  mocks.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
}

function invocationWith(status: string, stdout = '', stderr = '') {
  return {
    CommandId: COMMAND_ID,
    InstanceId: INSTANCE,
    Status: status as never,
    ResponseCode: status === 'Success' ? 0 : -1,
    StandardOutputContent: stdout,
    StandardErrorContent: stderr,
  };
}

/** SSM does not show the invocation at first, then it runs, then it ends with this plan as the agent prints it. */
function serveAnswer(plan: PlanOutput | string) {
  const stdout = typeof plan === 'string' ? plan : formatPlanOutput(plan);
  mocks.ssm
    .on(GetCommandInvocationCommand)
    .rejectsOnce(ssmError('InvocationDoesNotExist', ''))
    .resolvesOnce(invocationWith('InProgress'))
    .resolves(invocationWith('Success', stdout));
}

beforeEach(() => resetMocks());

describe('plan', () => {
  it('sends the drain document in plan mode and prints what each target matches', async () => {
    serveInstance();
    serveAnswer(ALL_MATCH);
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `plan on ${INSTANCE} (group ${GROUP}) · policy deployed · command ${COMMAND_ID} · 4s`,
      'nothing was signalled and no state was written',
      '',
      'target   kind     schedule                 after  matches  processes',
      'workers  process  HUP/10m/HUP/20s/KILL/5s  —      3        4242 lava-worker --queue a, 4243 lava-worker --queue b',
      '',
    ]);
    const input = mocks.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input).toEqual({
      DocumentName: DOCUMENT,
      DocumentVersion: '$LATEST',
      InstanceIds: [INSTANCE],
      Parameters: {
        drainId: [expect.stringMatching(/^plan-[0-9a-f]{12}$/)],
        deadline: ['2026-12-06T21:10:00Z'],
        instanceId: [INSTANCE],
        autoScalingGroupName: [GROUP],
        lifecycleHookName: [HOOK],
        action: ['plan'],
      },
      Comment: `fleet-drainer:plan ${INSTANCE}`,
      TimeoutSeconds: 60,
    });
    // The plan's drain id is a valid drain id, and never a lifecycle token or an adoption.
    expect(input?.Parameters?.drainId?.[0]).toMatch(new RegExp(DRAIN_PARAMETERS.drainId.pattern));
    // Asked until the answer came: not shown yet, running, done.
    expect(mocks.ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
  });

  it('flags a target that matches nothing, loudly, and exits 2', async () => {
    serveInstance();
    serveAnswer(PLAN);
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(2);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('queue    systemd  TERM/5m/KILL/10s         workers  0  !! NOTHING  —');
    expect(lines).toContain(
      `WARNING: 1 of 2 targets match nothing on ${INSTANCE}: queue. A drain would signal none of their workers: the host would be terminated undrained. Check each target's match (name, unit, container) against what runs there.`,
    );
  });

  it('shows processes left out of the output and targets that could not be looked at', async () => {
    serveInstance();
    const plan: PlanOutput = {
      version: 1,
      targets: [
        { ...(PLAN.targets[0] as PlanTarget), matches: 43, omitted: 40 },
        PLAN.targets[1] as PlanTarget,
        {
          name: 'jobs',
          kind: 'docker',
          schedule: 'TERM/1m',
          after: [],
          matches: 0,
          processes: [],
          error: 'docker: not found',
        },
      ],
    };
    serveAnswer(plan);
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(2);
    const lines = result.stdout.split('\n');
    expect(lines).toContain(
      'workers  process  HUP/10m/HUP/20s/KILL/5s  —        43             4242 lava-worker --queue a, 4243 lava-worker --queue b, +40 more',
    );
    expect(lines).toContain(
      'jobs     docker   TERM/1m                  —        ?              error: docker: not found',
    );
    expect(result.stdout).toContain(`WARNING: 1 of 3 targets match nothing on ${INSTANCE}: queue.`);
    expect(result.stdout).toContain(`WARNING: 1 targets could not be looked at on ${INSTANCE}: jobs`);
  });

  it('says when SSM cut the plan, and still flags what its summary line counts', async () => {
    serveInstance();
    serveAnswer(
      'fleet-drain-plan v1 targets=3 unmatched=1 errors=0\n{"version":1,"targets":[{"name":"wor\n--output truncated--',
    );
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(
      'output truncated: SSM cut the plan; its summary line says 3 targets, 1 match nothing, 0 could not be looked at',
    );
  });

  it('shows commands by their programs, not their directories', () => {
    expect(displayCommand('/usr/bin/node /srv/app/demo-worker.mjs queue --id 7')).toBe(
      'node demo-worker.mjs queue --id 7',
    );
  });

  it('--json gives the plan as the agent printed it', async () => {
    serveInstance();
    serveAnswer(PLAN);
    const result = await run('plan', ['--instance', INSTANCE, '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      instanceId: INSTANCE,
      groupName: GROUP,
      commandId: COMMAND_ID,
      policy: 'deployed',
      plan: PLAN,
    });
  });

  it('--policy sends the policy as compact base64, after checking it with the agent schema', async () => {
    serveInstance();
    serveAnswer(ALL_MATCH);
    const file = policyFile(POLICY);
    const result = await run('plan', ['--instance', INSTANCE, '--policy', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`policy ${file}`);
    const sent = mocks.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters
      ?.policy?.[0] as string;
    expect(sent).toMatch(policyParameterSpec().pattern);
    expect(Buffer.from(sent, 'base64').toString('utf8')).toBe(JSON.stringify(POLICY));
  });

  it('refuses an invalid --policy with exit 65 and the schema problems, before any AWS call', async () => {
    const file = policyFile({ version: 1, targets: [{ name: 'workers', shedule: 'TERM/1m' }] });
    const result = await run('plan', ['--instance', INSTANCE, '--policy', file]);
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(
      /^fleet-drainer plan: --policy \S+ is not a valid drain policy: targets\[0\]\.shedule: is not a known field; did you mean "schedule"\?/,
    );
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(awsCallCount()).toBe(0);
  });

  it('refuses a --policy too large for the document parameter, before any AWS call', async () => {
    // Valid, but its base64 is past the parameter's maxChars: 40 steps touching paths near PATH_MAX.
    const touch = { touch: `/run/${`${'d'.repeat(199)}/`.repeat(19)}drain` };
    const steps = Array.from({ length: 20 }, () => touch);
    const policy = { ...POLICY, prepare: steps, finally: steps };
    expect(Buffer.from(JSON.stringify(policy)).toString('base64').length).toBeGreaterThan(
      policyParameterSpec().maxChars,
    );
    const result = await run('plan', ['--instance', INSTANCE, '--policy', policyFile(policy)]);
    expect(result.code).toBe(65);
    expect(result.stderr).toMatch(
      new RegExp(
        `is too large for SSM: \\d+ characters of base64, the document's policy parameter takes at most ${policyParameterSpec().maxChars}`,
      ),
    );
    expect(awsCallCount()).toBe(0);
  });

  it.each([
    [['--policy', 'x.json'], 'plan needs --instance i-…'],
    [['--instance', 'web-1'], '--instance must be an instance id such as i-0123456789abcdef0, got "web-1"'],
    [
      ['--instance', INSTANCE, '--policy', '/nonexistent/drain.json'],
      'cannot read --policy /nonexistent/drain.json: ENOENT',
    ],
    [['--instance', INSTANCE, '--bogus'], "Unknown option '--bogus'"],
    [['--instance', INSTANCE, '--stack', 'no spaces'], '--stack must be a CloudFormation stack name or ARN'],
    [['--instance', INSTANCE, '--group', GROUP], 'plan takes no --group'],
  ])('refuses %j with exit 64, before any AWS call', async (args, message) => {
    const result = await run('plan', args);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain(message);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(awsCallCount()).toBe(0);
  });

  it('gives up after a bounded wait when no answer comes, naming the command to look up later', async () => {
    serveInstance();
    mocks.ssm.on(GetCommandInvocationCommand).resolves(invocationWith('InProgress'));
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(69);
    expect(result.stderr).toBe(
      `fleet-drainer plan: no answer from ${INSTANCE} within 120 s (command ${COMMAND_ID} is InProgress): look later with \`fleet-drainer report ${COMMAND_ID}\`\n`,
    );
    expect(result.sleptMs).toBeLessThanOrEqual(PLAN_WAIT_MS);
    expect(mocks.ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(PLAN_WAIT_MS / PLAN_POLL_MS + 1);
  });

  it('shows the plan of an agent that exited 2 for a target it could not examine (Failed in Run Command)', async () => {
    serveInstance();
    const plan: PlanOutput = {
      version: 1,
      targets: [
        PLAN.targets[0] as PlanTarget,
        {
          ...(PLAN.targets[0] as PlanTarget),
          name: 'units',
          kind: 'systemd',
          matches: 0,
          processes: [],
          error: 'systemctl: Failed to connect to bus',
        },
      ],
    };
    mocks.ssm
      .on(GetCommandInvocationCommand)
      .resolves({ ...invocationWith('Failed', formatPlanOutput(plan)), ResponseCode: 2 });
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('error: systemctl: Failed to connect to bus');
    expect(result.stdout).toContain(`WARNING: 1 targets could not be looked at on ${INSTANCE}: units`);
  });

  it('names a plan that failed on the host, with the last line of its stderr, exit 1', async () => {
    serveInstance();
    mocks.ssm
      .on(GetCommandInvocationCommand)
      .resolves(
        invocationWith(
          'Failed',
          '',
          'fleet-drain-agent: invalid config:\n  targets[0].match: unknown user "app"',
        ),
      );
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `fleet-drainer plan: the plan command ${COMMAND_ID} ended Failed (exit -1) on ${INSTANCE}: targets[0].match: unknown user "app"; fix the policy or the host, then retry\n`,
    );
  });

  it('refuses an instance in a group the stack does not drain, exit 66, before sending anything', async () => {
    serveInstance('api-asg');
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(66);
    expect(result.stderr).toBe(
      `fleet-drainer plan: instance ${INSTANCE} is in group api-asg, which stack FleetDrainer does not drain: pass an instance of ${GROUP}, or the --stack that drains api-asg\n`,
    );
    expect(mocks.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('refuses an instance in no Auto Scaling group, exit 66', async () => {
    mocks.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(66);
    expect(result.stderr).toContain(`instance ${INSTANCE} is in no Auto Scaling group here`);
  });

  it('refuses an instance SSM does not list, exit 69, before sending anything', async () => {
    serveInstance();
    serveAgents({});
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(69);
    expect(result.stderr).toBe(
      `fleet-drainer plan: instance ${INSTANCE} is not managed by SSM (DescribeInstanceInformation does not list it): start its SSM Agent and give its instance profile AmazonSSMManagedInstanceCore, then retry\n`,
    );
    expect(mocks.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('refuses an instance whose SSM agent is offline, exit 69', async () => {
    serveInstance();
    serveAgents({ [INSTANCE]: 'ConnectionLost' });
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(69);
    expect(result.stderr).toContain('(its SSM Agent is ConnectionLost)');
  });

  it('names InvalidInstanceId from SendCommand as an instance SSM cannot reach, exit 69', async () => {
    serveInstance();
    mocks.ssm
      .on(SendCommandCommand)
      .rejects(
        ssmError(
          'InvalidInstanceId',
          'Instances [[i-0123456789abcdef0]] not in a valid state for account 123456789012',
        ),
      );
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(69);
    expect(result.stderr).toContain(`instance ${INSTANCE} is not managed by SSM (SendCommand refused it)`);
  });
});
