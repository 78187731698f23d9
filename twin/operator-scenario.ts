// The `operator` scenario: an operator runs `fleet-drainer status`, `report` and `plan` as child processes,
// as a user would, against the drill's stack in the twin (AWS_ENDPOINT_URL, fake credentials, AWS_REGION):
// during a drain, after it, and on an idle instance; then the mistakes a user makes (a wrong stack, region or
// instance, an instance SSM does not manage, no credentials, a denied SendCommand), each of which must fail
// in one line with a non-zero exit. What the commands print is checked, not only their exit codes.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DRILL_GROUP, DRILL_POLICY, DRILL_STACK, type Fleet, type FleetPlan } from './drill';
import { REGION } from './event-envelope';
import type { Twin } from './twin';

/** The command line the operator runs: the bundle, from twin/ (sources) and from dist/ alike. */
const CLI = fileURLToPath(new URL('../dist/fleet-drainer.js', import.meta.url));
/** Bound on one command: `plan` waits for its SSM command, which runs the agent on the host. */
const COMMAND_TIMEOUT_MS = 60_000;

export interface CliRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `fleet-drainer <args>` against the twin with a user's environment and nothing else of this process's:
 * an empty HOME (no ~/.aws), no instance metadata, and the given credentials (none: the SDK's chain finds none).
 */
export function runCli(
  twin: Twin,
  args: string[],
  options: { region?: string; credentials?: boolean } = {},
): Promise<CliRun> {
  const home = mkdtempSync(join(tmpdir(), 'fleet-operator-home-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_ENDPOINT_URL: twin.url,
    AWS_REGION: options.region ?? REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(options.credentials === false
      ? {}
      : { AWS_ACCESS_KEY_ID: 'AKIAOPERATOR', AWS_SECRET_ACCESS_KEY: 'operator-secret' }),
  };
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        rmSync(home, { recursive: true, force: true });
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ args, code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** A session as the operator saw it: the command, then what it printed. */
function printSession(print: (line: string) => void, run: CliRun, note = ''): void {
  print('');
  print(`$ fleet-drainer ${run.args.join(' ')}${note ? `   # ${note}` : ''}`);
  for (const line of `${run.stdout}${run.stderr}`.trimEnd().split('\n')) print(`  ${line}`);
  print(`  (exit ${run.code}, ${(run.ms / 1000).toFixed(1)} s)`);
}

/** The first line of what a run said on stderr, shortened: enough for a problem line. */
const firstLine = (text: string) => (text.trim().split('\n')[0] ?? '').slice(0, 160);

/** The problems of a run that had to succeed and print what `expected` matches. */
function succeeded(run: CliRun, what: string, expected: RegExp[]): string[] {
  const problems: string[] = [];
  if (run.code !== 0) problems.push(`${what}: exit ${run.code}: ${firstLine(run.stderr)}`);
  for (const pattern of expected)
    if (!pattern.test(run.stdout)) problems.push(`${what}: stdout does not match ${pattern}`);
  return problems;
}

/** The problems of a run that had to fail in one line naming `cause`, never with a stack trace. */
function failedInOneLine(run: CliRun, what: string, cause: RegExp): string[] {
  const problems: string[] = [];
  const text = run.stderr.trim();
  if (run.code === 0) problems.push(`${what}: exit 0, expected an error`);
  if (text.split('\n').length !== 1) problems.push(`${what}: ${text.split('\n').length} lines on stderr`);
  if (/^\s+at /m.test(`${run.stdout}${run.stderr}`)) problems.push(`${what}: a stack trace`);
  if (!cause.test(text)) problems.push(`${what}: stderr "${firstLine(text)}" does not match ${cause}`);
  return problems;
}

const drainCommandOf = (twin: Twin, instanceId: string) =>
  twin.commands.all().find((c) => c.instanceIds.includes(instanceId) && c.parameters.action?.[0] !== 'plan');
const planCommandsOf = (twin: Twin, instanceId: string) =>
  twin.commands
    .all()
    .filter((c) => c.instanceIds.includes(instanceId) && c.parameters.action?.[0] === 'plan');

/** Who is drained (the oldest), who idles, and the instance of the group SSM does not manage. */
interface Cast {
  drained: string;
  idle: string;
  unmanaged: string;
}

/** During the drain: `status` sees it draining; `plan` on the idle instance, with the deployed policy and another. */
async function whileDraining(fleet: Fleet, cast: Cast, policyFile: string): Promise<string[]> {
  const { twin, print } = fleet;
  await twin.waitFor(
    () => drainCommandOf(twin, cast.drained)?.invocations.get(cast.drained)?.status === 'InProgress',
    'the drain command to run',
    30_000,
  );
  const problems: string[] = [];
  const status = await runCli(twin, ['status', '--stack', DRILL_STACK]);
  printSession(print, status, 'during the drain');
  problems.push(...succeeded(status, 'status', [new RegExp(`${cast.drained}.*draining`)]));
  const json = await runCli(twin, ['status', '--stack', DRILL_STACK, '--json']);
  problems.push(...succeeded(json, 'status --json', [new RegExp(cast.drained)]));

  const plan = await runCli(twin, ['plan', '--stack', DRILL_STACK, '--instance', cast.idle]);
  printSession(print, plan, 'the deployed policy on an idle instance');
  // Each target's row, with how many of the idle host's workers it matches: two job workers, one stuck.
  problems.push(
    ...succeeded(plan, 'plan', [/^jobs\s.*\s2\s/m, /^stuck\s.*\s1\s/m, /demo-worker\.mjs (queue|slow)/]),
  );
  const tried = await runCli(twin, [
    'plan',
    '--stack',
    DRILL_STACK,
    '--instance',
    cast.idle,
    '--policy',
    policyFile,
  ]);
  printSession(print, tried, 'a policy not deployed yet, with a target that matches nothing');
  // A target that matches nothing is flagged; whether that fails the command is the CLI's to say.
  if (!/ghost[^\n]*(nothing|no match|unmatched)/i.test(`${tried.stdout}${tried.stderr}`))
    problems.push('plan --policy: the target "ghost" is not flagged as matching nothing');
  if (/^\s+at /m.test(tried.stderr)) problems.push('plan --policy: a stack trace');
  // The CLI's documented exit code for a plan with a target that matches nothing.
  if (tried.code !== 2)
    problems.push(`plan --policy: exit ${tried.code}, expected 2 (a target matches nothing)`);
  return problems;
}

/** After the drain: `status` no longer shows the instance draining; `report` renders its agent's report. */
async function afterTheDrain(fleet: Fleet, cast: Cast): Promise<string[]> {
  const { twin, print } = fleet;
  await twin.waitFor(
    () =>
      twin.states.some((s) => s.instanceId === cast.drained && s.lifecycleState === 'Terminated') &&
      twin.bus.events.some(
        (e) => e['detail-type'] === 'Fleet Drain Finished' && e.detail.instanceId === cast.drained,
      ),
    'the drained instance to terminate',
    90_000,
  );
  const problems: string[] = [];
  const status = await runCli(twin, ['status', '--stack', DRILL_STACK]);
  printSession(print, status, 'after the drain');
  problems.push(...succeeded(status, 'status after', []));
  if (new RegExp(`${cast.drained}.*draining`).test(status.stdout))
    problems.push('status after the drain still shows the instance draining');

  const report = await runCli(twin, ['report', cast.drained, '--stack', DRILL_STACK]);
  printSession(print, report, 'the finished drain');
  problems.push(...succeeded(report, 'report', [/jobs/, /stuck/, /KILL/]));
  const raw = await runCli(twin, ['report', cast.drained, '--stack', DRILL_STACK, '--json']);
  try {
    const parsed = JSON.parse(raw.stdout) as {
      instanceId?: string;
      truncated?: boolean;
      report?: { targets?: { name: string }[] };
    };
    const names = (parsed.report?.targets ?? []).map((t) => t.name).sort();
    if (parsed.instanceId !== cast.drained) problems.push(`report --json: instanceId ${parsed.instanceId}`);
    if (parsed.truncated !== false) problems.push(`report --json: truncated ${parsed.truncated}`);
    if (names.join(',') !== 'jobs,stuck') problems.push(`report --json: targets ${names.join(',')}`);
  } catch {
    problems.push(`report --json: stdout is not JSON: ${raw.stdout.slice(0, 120)}`);
  }
  return problems;
}

/** The mistakes an operator makes: each fails in one line naming the cause, with a non-zero exit. */
async function mistakes(fleet: Fleet, cast: Cast): Promise<string[]> {
  const { twin, print } = fleet;
  const problems: string[] = [];
  const cases: [what: string, args: string[], cause: RegExp, options?: Parameters<typeof runCli>[2]][] = [
    ['a wrong stack name', ['status', '--stack', 'NoSuchStack'], /NoSuchStack/],
    [
      'another region',
      ['status', '--stack', DRILL_STACK],
      /not found|does not exist|region/i,
      { region: 'eu-west-1' },
    ],
    ['no credentials', ['status', '--stack', DRILL_STACK], /credential/i, { credentials: false }],
    [
      'an instance not in the groups',
      ['plan', '--stack', DRILL_STACK, '--instance', 'i-0123456789abcdef0'],
      /no Auto Scaling group|not in/i,
    ],
    [
      'an instance SSM does not manage',
      ['plan', '--stack', DRILL_STACK, '--instance', cast.unmanaged],
      /SSM/,
    ],
  ];
  for (const [what, args, cause, options] of cases) {
    const run = await runCli(twin, args, options);
    printSession(print, run, what);
    problems.push(...failedInOneLine(run, what, cause));
  }
  twin.faults.denyAccess('ssm', 'SendCommand');
  const denied = await runCli(twin, ['plan', '--stack', DRILL_STACK, '--instance', cast.idle]);
  printSession(print, denied, 'SendCommand denied by IAM');
  problems.push(...failedInOneLine(denied, 'access denied', /ssm:SendCommand/));
  return problems;
}

/** What plan mode must not have done on the idle instance, and that its commands' events reached the handler. */
function planLeftNoTrace(twin: Twin, cast: Cast): string[] {
  const problems: string[] = [];
  const plans = planCommandsOf(twin, cast.idle);
  if (plans.length < 2) problems.push(`${plans.length} plan command(s) on the idle instance, expected 2`);
  for (const command of plans) {
    const status = command.invocations.get(cast.idle)?.status;
    if (status !== 'Success') problems.push(`plan command ${command.commandId} ended ${status}`);
    // The status rule matches the document, not the action: the handler receives the plan's events too.
    const delivered = twin.bus.invocations.filter((i) => i.event.detail['command-id'] === command.commandId);
    if (delivered.length === 0)
      problems.push(`no status event of plan ${command.commandId} reached the handler`);
    if (delivered.some((i) => i.error !== undefined))
      problems.push(`the handler failed on a status event of plan ${command.commandId}`);
  }
  if (twin.autoScaling.ended.some((end) => end.action.instanceId === cast.idle))
    problems.push('a lifecycle action of the idle instance ended');
  const state = twin.states.filter((s) => s.instanceId === cast.idle).at(-1)?.lifecycleState;
  if (state !== 'InService') problems.push(`the idle instance is ${state}, expected InService`);
  if (
    twin.bus.events.some(
      (e) => e['detail-type'] === 'Fleet Drain Finished' && e.detail.instanceId === cast.idle,
    )
  )
    problems.push('a Fleet Drain Finished event for the idle instance');
  return problems;
}

/** The plan of the scenario: two instances and one SSM does not manage; the oldest is scaled in. */
export function operatorPlan(twinOptions: FleetPlan['twin']): FleetPlan {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-operator-'));
  const policyFile = join(dir, 'drain.json');
  // The drill's policy plus a target that matches nothing on these hosts.
  writeFileSync(
    policyFile,
    JSON.stringify({
      ...DRILL_POLICY,
      targets: [
        ...DRILL_POLICY.targets,
        { name: 'ghost', match: { cmdline: 'no-such-daemon' }, schedule: 'TERM/5s/KILL' },
      ],
    }),
  );
  const problems: string[] = [];
  let cast: Cast | undefined;
  return {
    instances: 2,
    twin: twinOptions,
    // The drained one's job hangs on TERM: its drain lasts the jobs target's 20 s, time to look at it.
    workers: (index) =>
      index === 0
        ? [{ kind: 'queue', env: { DEMO_IGNORE_TERM: '1' } }, { kind: 'stuck' }]
        : [{ kind: 'queue' }, { kind: 'slow' }, { kind: 'stuck' }],
    prepare: async ({ twin, instances }) => {
      const [unmanaged] = await twin.launch(DRILL_GROUP, 1, () => [], { ssmAgent: false });
      cast = {
        drained: instances[0] as string,
        idle: instances[1] as string,
        unmanaged: unmanaged as string,
      };
    },
    scaleIn: ({ twin }) => {
      const current = cast as Cast;
      // The oldest InService instance goes first.
      twin.autoScaling.setDesiredCapacity(DRILL_GROUP, 2);
      return [current.drained];
    },
    during: async (fleet) => {
      const current = cast as Cast;
      problems.push(...(await whileDraining(fleet, current, policyFile)));
      problems.push(...(await afterTheDrain(fleet, current)));
      problems.push(...(await mistakes(fleet, current)));
    },
    expected: (_, index) => (index === 0 ? ['forced'] : undefined),
    timeoutMs: 150_000,
    verify: ({ twin }) => {
      rmSync(dir, { recursive: true, force: true });
      return [...problems, ...planLeftNoTrace(twin, cast as Cast)];
    },
  };
}
