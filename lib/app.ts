// The CDK app that `cdk.json` runs.
//   npx cdk deploy -c autoScalingGroupNames=web,workers -c policy=./drain.json   attach to existing groups
//   npx cdk deploy -c demo=true                                                  a demo group, drained
// Stacks are environment-agnostic and make no lookups, so `cdk synth` works offline without credentials.

import { readFileSync } from 'node:fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { type DrainPolicy, PolicyError, resolvePolicy } from '../agent/policy/policy';
import { DemoStack } from './demo-stack';
import { FleetDrainer } from './fleet-drainer';

/** A user's mistake in the context: printed without a stack trace, exit 1. */
class UsageError extends Error {}

const USAGE = `Tell fleet-drainer what to drain:
  npx cdk deploy -c autoScalingGroupNames=web,workers -c policy=./drain.json   (existing groups)
  npx cdk deploy -c demo=true                                                  (a demo group)
Optional: -c maxDrainTime=3600 (seconds), -c maxConcurrentDrains=1000, -c stackName=FleetDrainer. See lib/README.md.`;

function loadPolicy(path: string): DrainPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the drain policy ${path}: ${(error as Error).message}`);
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the drain policy ${path} is not JSON: ${(error as Error).message}`);
  }
  try {
    resolvePolicy(policy);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new UsageError(
      `the drain policy ${path} is invalid:\n${error.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
  }
  return policy as DrainPolicy;
}

/** Builds the app's stacks from the context (-c key=value). */
export function buildApp(app: App): void {
  const context = (key: string): string | undefined => {
    const value = app.node.tryGetContext(key);
    return value === undefined || value === '' ? undefined : String(value);
  };
  const groups = (context('autoScalingGroupNames') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const demo = context('demo') === 'true';
  const policyPath = context('policy');
  const policy = policyPath === undefined ? undefined : loadPolicy(policyPath);
  const maxDrainSeconds = context('maxDrainTime');
  if (maxDrainSeconds !== undefined && !/^\d+$/.test(maxDrainSeconds)) {
    throw new UsageError(`-c maxDrainTime must be whole seconds, got "${maxDrainSeconds}"`);
  }
  const maxConcurrentDrains = context('maxConcurrentDrains');
  if (maxConcurrentDrains !== undefined && !/^\d+$/.test(maxConcurrentDrains)) {
    throw new UsageError(`-c maxConcurrentDrains must be a whole number, got "${maxConcurrentDrains}"`);
  }
  if (groups.length === 0 && !demo) throw new UsageError(USAGE);

  if (groups.length > 0) {
    if (policy === undefined) {
      throw new UsageError(
        'attaching to existing groups needs their drain policy: -c policy=./drain.json (see "Writing a drain policy" in lib/README.md)',
      );
    }
    const stack = new Stack(app, context('stackName') ?? 'FleetDrainer', {
      description: 'fleet-drainer: drains instances before their Auto Scaling group terminates them',
    });
    new FleetDrainer(stack, 'Drainer', {
      groups,
      policy,
      ...(maxDrainSeconds === undefined ? {} : { maxDrainTime: Duration.seconds(Number(maxDrainSeconds)) }),
      ...(maxConcurrentDrains === undefined ? {} : { maxConcurrentDrains: Number(maxConcurrentDrains) }),
    });
  }
  if (demo) {
    new DemoStack(app, 'FleetDrainerDemo', {
      description: 'fleet-drainer demo: a small group of demo workers, drained on scale-in',
      ...(policy === undefined ? {} : { policy }),
    });
  }
}

if (require.main === module) {
  try {
    const app = new App();
    buildApp(app);
    app.synth();
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof Error && /^`\w+`/.test(error.message)))
      throw error;
    console.error(`fleet-drainer: ${error.message}`);
    process.exit(1);
  }
}
