// `fleet-drainer`: the command line. `drill` runs the whole flow on this machine (twin/drill.ts); `status`,
// `report` and `plan` are the operator commands against a deployed stack (operator/cli.ts).

import { parseArgs } from 'node:util';
import { OPERATOR_COMMANDS, OPERATOR_HELP, type OperatorCommand, operatorMain } from '../operator/cli';
import { type DrillResult, runDrill } from './drill';
import { runScenario, SCENARIO_NAMES, SCENARIOS } from './scenarios';

const HELP = `${OPERATOR_HELP}
fleet-drainer drill [--instances N] [--scale-in K]
fleet-drainer drill --scenario NAME|all

Runs the whole drain flow on this machine, with no AWS account: the FleetDrainer stack is synthesized, a
local twin of Auto Scaling, SSM and EventBridge runs the real Lambda, the real SSM document and the real
agent, and N instances (PID namespaces) running demo workers are scaled in by K. Exits 1 if an instance was
stranded, completed before its workers stopped, or had a worker signalled twice.

  --instances N     instances to boot (default 4, at most 20)
  --scale-in K      how many to scale in (default 3, at most N)
  --scenario NAME   instead, run one scenario of the fault matrix: a small fleet, a fault, a scale-in and
                    the same checks, plus the outcome each instance must end with; \`all\` runs every one
                    and ends with a pass/fail table. Exits 1 if any fails.

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(22)}${s.proves}`).join('\n')}
`;

class UsageError extends Error {}

// The SDK warns once that its 2027 releases will need Node 22: true, and noise in a drill's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function count(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max))
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return number;
}

const isOperatorCommand = (name: string | undefined): name is OperatorCommand =>
  (OPERATOR_COMMANDS as readonly (string | undefined)[]).includes(name);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (isOperatorCommand(command)) return operatorMain(command, rest);
  let instances: number;
  let scaleIn: number;
  let scenario: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        instances: { type: 'string' },
        'scale-in': { type: 'string' },
        scenario: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals[0] !== 'drill' || positionals.length > 1) {
      throw new UsageError(
        positionals[0] ? `unknown command "${positionals.join(' ')}"` : 'no command given',
      );
    }
    scenario = values.scenario;
    if (scenario !== undefined) {
      if (scenario !== 'all' && !SCENARIO_NAMES.includes(scenario))
        throw new UsageError(
          `--scenario must be one of ${SCENARIO_NAMES.join(', ')} or all, got "${scenario}"`,
        );
      if (values.instances !== undefined || values['scale-in'] !== undefined)
        throw new UsageError('--scenario sets its own fleet: drop --instances and --scale-in');
    }
    instances = count(values.instances, 'instances', 4, 1, 20);
    scaleIn = count(values['scale-in'], 'scale-in', Math.min(3, instances), 1, instances);
  } catch (error) {
    process.stderr.write(`fleet-drainer: ${(error as Error).message}\n\n${HELP}`);
    return 64;
  }
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (scenario === undefined) return (await runDrill({ instances, scaleIn, print })).ok ? 0 : 1;
  if (scenario !== 'all') return (await runScenario(scenario, print)).ok ? 0 : 1;
  return runAll(print);
}

/** Every scenario, one after another, then a pass/fail table. */
async function runAll(print: (line: string) => void): Promise<number> {
  const results: [name: string, result: DrillResult | Error, seconds: number][] = [];
  for (const name of SCENARIO_NAMES) {
    print(`\n=== ${name} ${'='.repeat(Math.max(0, 70 - name.length))}`);
    const started = Date.now();
    const result = await runScenario(name, print).catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error)),
    );
    if (result instanceof Error) print(`Scenario ${name} could not run: ${result.message}`);
    results.push([name, result, (Date.now() - started) / 1000]);
  }
  print('\nscenario                result  time    outcomes');
  for (const [name, result, seconds] of results) {
    const ok = !(result instanceof Error) && result.ok;
    const outcomes =
      result instanceof Error ? result.message : result.instances.map((i) => i.outcome).join(', ');
    print(
      `${name.padEnd(22)}  ${(ok ? 'pass' : 'FAIL').padEnd(6)}  ${`${seconds.toFixed(1)} s`.padEnd(6)}  ${outcomes}`,
    );
  }
  const failed = results.filter(([, result]) => result instanceof Error || !result.ok).length;
  print(
    failed === 0
      ? `\nAll ${results.length} scenarios passed.`
      : `\n${failed} of ${results.length} scenarios FAILED.`,
  );
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fleet-drainer: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  },
);
