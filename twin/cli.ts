// `fleet-drainer`: the developer's command line. `drill` runs the whole flow on this machine (twin/drill.ts).

import { parseArgs } from 'node:util';
import { runDrill } from './drill';

const HELP = `fleet-drainer drill [--instances N] [--scale-in K]

Runs the whole drain flow on this machine, with no AWS account: the FleetDrainer stack is synthesized, a
local twin of Auto Scaling, SSM and EventBridge runs the real Lambda, the real SSM document and the real
agent, and N instances (PID namespaces) running demo workers are scaled in by K. Exits 1 if an instance was
stranded, completed before its workers stopped, or had a worker signalled twice.

  --instances N   instances to boot (default 4, at most 20)
  --scale-in K    how many to scale in (default 3, at most N)
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

export async function main(argv: string[]): Promise<number> {
  let instances: number;
  let scaleIn: number;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        instances: { type: 'string' },
        'scale-in': { type: 'string' },
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
    instances = count(values.instances, 'instances', 4, 1, 20);
    scaleIn = count(values['scale-in'], 'scale-in', Math.min(3, instances), 1, instances);
  } catch (error) {
    process.stderr.write(`fleet-drainer: ${(error as Error).message}\n\n${HELP}`);
    return 64;
  }
  const result = await runDrill({ instances, scaleIn, print: (line) => process.stdout.write(`${line}\n`) });
  return result.ok ? 0 : 1;
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
