// The operator commands of `fleet-drainer`: status, report, plan. Arguments and the policy are checked
// before any AWS call; every failure is one line on stderr naming the cause and the fix, with the exit
// code of exit-codes.ts; never a stack trace.

import { parseArgs } from 'node:util';
import { DRAIN_PARAMETERS } from '../agent/policy/drain-parameters';
import { createClients, type OperatorClients, resolvedRegion } from './aws/clients';
import { EXIT, OperatorError } from './exit-codes';
import { explainError } from './explain-error';
import { plan } from './plan';
import { INSTANCE_ID, loadPolicyParameter } from './plan-request';
import {
  needsAttention,
  parsePlanStdout,
  planJson,
  type ReadPlan,
  renderPlan,
  renderPlanBody,
} from './plan-view';
import { report, reportSubject } from './report';
import { renderReport, reportJson } from './report-view';
import { status } from './status';
import { renderStatus, statusJson } from './status-view';

export const OPERATOR_COMMANDS = ['status', 'report', 'plan'] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

/** The app's default stack name (lib/app.ts). */
export const DEFAULT_STACK = 'FleetDrainer';

export const OPERATOR_HELP = `fleet-drainer status [--stack NAME] [--group G] [--json]
fleet-drainer report <instance-id|command-id> [--stack NAME] [--json]
fleet-drainer plan --instance i-… [--policy drain.json] [--stack NAME] [--json]
  with --profile NAME and --region REGION (else the SDK's default chain)

status   every instance of the stack's groups waiting on the drainer's hook: its drain, the command, the time
         left before the lifecycle action times out, the next heartbeat, and a verdict: draining, finishing,
         unreachable or stuck (with the reason)
report   the agent's report of an instance's latest drain (or of one command): one row per target
plan     runs the drain document in plan mode on a live instance: what each target matches there. Nothing is
         signalled. --policy tries a policy file that is not deployed (checked locally first); a target that
         matches nothing is flagged and the exit code is 2

Exit codes: 0 ok · 1 AWS call failed · 2 plan: a target matches nothing · 64 usage · 65 invalid --policy ·
66 stack, group, instance or command not found · 69 instance not reachable through SSM, or no answer in
time · 77 no credentials or access denied · 78 no region, or unreadable stack output
`;

export interface OperatorIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  nowMs: () => number;
  sleep: (ms: number) => Promise<void>;
  clients: (choice: { region?: string; profile?: string }) => OperatorClients;
}

export const processIo: OperatorIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  nowMs: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  clients: createClients,
};

const OPTIONS = {
  stack: { type: 'string' },
  group: { type: 'string' },
  instance: { type: 'string' },
  policy: { type: 'string' },
  profile: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

/** The options each command takes, besides --profile, --region, --stack and --json. */
const OWN_OPTIONS: Record<OperatorCommand, readonly string[]> = {
  status: ['group'],
  report: [],
  plan: ['instance', 'policy'],
};

const STACK_NAME =
  /^([A-Za-z][A-Za-z0-9-]{0,127}|arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/.+)$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const PROFILE = /^[A-Za-z0-9_.@+=-]{1,128}$/;
const GROUP = new RegExp(DRAIN_PARAMETERS.autoScalingGroupName.pattern);

const usage = (message: string) => new OperatorError(message, EXIT.usage);

function check(value: string | undefined, pattern: RegExp, what: string): void {
  if (value !== undefined && !pattern.test(value)) throw usage(`${what}, got "${value}"`);
}

/** Parses and checks the arguments of one command; OperatorError (usage) naming the first problem. */
export function parseOperatorArgs(
  command: OperatorCommand,
  args: readonly string[],
): { values: Values; positionals: string[] } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true }) as never;
  } catch (error) {
    throw usage(`${(error as Error).message.split('\n')[0]}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return parsed;
  for (const name of ['group', 'instance', 'policy'] as const) {
    if (values[name] !== undefined && !OWN_OPTIONS[command].includes(name))
      throw usage(`${command} takes no --${name}`);
  }
  if (positionals.length > (command === 'report' ? 1 : 0))
    throw usage(`${command}: unexpected argument "${positionals.at(-1)}"`);
  check(values.stack, STACK_NAME, '--stack must be a CloudFormation stack name or ARN');
  check(values.region, REGION, '--region must be an AWS region such as us-east-1');
  check(values.profile, PROFILE, '--profile must be a profile name of your AWS config');
  check(values.group, GROUP, '--group must be an Auto Scaling group name');
  if (command === 'plan') {
    if (values.instance === undefined) throw usage('plan needs --instance i-…');
    check(values.instance, INSTANCE_ID, '--instance must be an instance id such as i-0123456789abcdef0');
  }
  if (command === 'report') reportSubject(positionals[0]);
  return parsed;
}

async function run(
  command: OperatorCommand,
  values: Values,
  positionals: string[],
  io: OperatorIo,
): Promise<number> {
  const print = (lines: string[]) => io.stdout(`${lines.join('\n')}\n`);
  const json = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  const stack = values.stack ?? DEFAULT_STACK;
  // The policy is read and checked before any client exists: invalid input never reaches AWS.
  const policyFile = command === 'plan' ? values.policy : undefined;
  const policy =
    policyFile === undefined ? undefined : { file: policyFile, base64: loadPolicyParameter(policyFile) };
  const clients = io.clients({ region: values.region, profile: values.profile });
  const region = values.region ?? (await resolvedRegion(clients));
  try {
    if (command === 'status') {
      const result = await status(clients, { stack, group: values.group, region, nowMs: io.nowMs });
      if (values.json) json(statusJson(result));
      else print(renderStatus(result));
      return EXIT.ok;
    }
    if (command === 'report') {
      const result = await report(clients, { stack, subject: reportSubject(positionals[0]) });
      if (result.plan) return printPlanReport(result, values.json === true, io);
      if (values.json) json(reportJson(result));
      else print(renderReport(result, io.nowMs()));
      return EXIT.ok;
    }
    const result = await plan(clients, {
      stack,
      instanceId: values.instance as string,
      policy,
      nowMs: io.nowMs,
      sleep: io.sleep,
    });
    if (values.json) json(planJson(result));
    else print(renderPlan(result));
    return needsAttention(result.read) ? EXIT.attention : EXIT.ok;
  } catch (error) {
    throw explainError(error, { region, stack, profile: values.profile ?? io.env.AWS_PROFILE });
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}

/** `report <command-id>` of a plan command: its plan, as `plan` prints it. */
function printPlanReport(
  result: Awaited<ReturnType<typeof report>>,
  asJson: boolean,
  io: OperatorIo,
): number {
  let read: ReadPlan | undefined;
  try {
    read = parsePlanStdout(result.stdout);
  } catch {
    read = undefined;
  }
  const header = [
    `plan command ${result.commandId} on ${result.instanceId} · ${result.status}`,
    'nothing was signalled and no state was written',
  ];
  if (asJson) {
    const plan =
      read === undefined
        ? null
        : { truncated: read.truncated, summary: read.summary, plan: read.plan ?? null };
    io.stdout(`${JSON.stringify({ ...reportJson(result), plan }, null, 2)}\n`);
  } else {
    const body =
      read === undefined ? ['no plan in the command output yet'] : renderPlanBody(read, result.instanceId);
    io.stdout(`${[...header, '', ...body].join('\n')}\n`);
  }
  return read !== undefined && needsAttention(read) ? EXIT.attention : EXIT.ok;
}

/** Runs one operator command; returns its exit code. Never throws. */
export async function operatorMain(
  command: OperatorCommand,
  args: readonly string[],
  io: OperatorIo = processIo,
): Promise<number> {
  try {
    const { values, positionals } = parseOperatorArgs(command, args);
    if (values.help) {
      io.stdout(OPERATOR_HELP);
      return EXIT.ok;
    }
    return await run(command, values, positionals, io);
  } catch (error) {
    const failure = explainError(error);
    const hint = failure.exitCode === EXIT.usage ? ' (fleet-drainer --help lists the commands)' : '';
    io.stderr(`fleet-drainer ${command}: ${failure.message}${hint}\n`);
    return failure.exitCode;
  }
}
