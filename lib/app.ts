// The CDK app that `cdk.json` runs; its stacks make no lookups, so `cdk synth` works offline.
//   npx cdk deploy -c autoScalingGroupNames=web,workers -c policy=./drain.json   attach to existing groups
//   npx cdk deploy -c demo=true                                                  a demo group, drained

import { readFileSync } from 'node:fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { type DrainPolicy, PolicyError, resolvePolicy } from '../agent/policy/policy';
import { REBALANCE_ACTIONS, type RebalanceAction } from './defaults';
import { DemoStack } from './demo-stack';
import { FleetDrainer } from './fleet-drainer';

/** A user's mistake in the context: printed without a stack trace, exit 1. */
class UsageError extends Error {}

const USAGE = `Tell fleet-drainer what to drain:
  npx cdk deploy -c autoScalingGroupNames=web,workers -c policy=./drain.json   (existing groups)
  npx cdk deploy -c demo=true                                                  (a demo group)
Optional: -c maxDrainTime=3600 (seconds), -c maxConcurrentDrains=1000, -c onRebalanceRecommendation=ignore,
  -c stackName=FleetDrainer. See lib/README.md.`;

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

/** The context keys this app reads (-c key=value). */
const KNOWN_KEYS = [
  'autoScalingGroupNames',
  'policy',
  'demo',
  'maxDrainTime',
  'maxConcurrentDrains',
  'onRebalanceRecommendation',
  'stackName',
] as const;

/** Un-namespaced keys that belong to the CDK itself (`cdk acknowledge` writes this one). */
const CDK_KEYS = ['acknowledged-issue-numbers'];

// CreateStack's StackName: letters, digits and hyphens, starting with a letter, at most 128 characters
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
const STACK_NAME_MAX_CHARS = 128;
const STACK_NAME = new RegExp(`^[A-Za-z][A-Za-z0-9-]{0,${STACK_NAME_MAX_CHARS - 1}}$`);

/** An unknown key this close to a known one (edits) is taken for a typo of it: 2, or a third of its length. */
const typoEdits = (key: string): number => Math.max(2, key.length / 3);

/** Edit distance between two keys, ignoring case: how a mistyped key finds the one meant. */
function distance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++)
      next[j] = Math.min(
        (row[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (row[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    row = next;
  }
  return row[y.length] as number;
}

/**
 * Rejects a context key that is not the app's. Keys with a `:` or `@` are namespaced (feature flags, the
 * CLI's own `aws:cdk:*`, cached lookups) and pass; any other key must be one the app reads.
 */
function checkKeys(context: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(context)) {
    if (/[:@]/.test(key) || CDK_KEYS.includes(key) || (KNOWN_KEYS as readonly string[]).includes(key))
      continue;
    const nearest = [...KNOWN_KEYS].sort((a, b) => distance(key, a) - distance(key, b))[0] as string;
    const hint = distance(key, nearest) <= typoEdits(key) ? `did you mean ${nearest}? ` : '';
    throw new UsageError(
      `unknown context key -c ${key}=${String(value)}: ${hint}fleet-drainer reads ${KNOWN_KEYS.join(', ')} (see lib/README.md)`,
    );
  }
}

/** Builds the app's stacks from the context (-c key=value). */
export function buildApp(app: App): void {
  checkKeys(app.node.getAllContext());
  const context = (key: (typeof KNOWN_KEYS)[number]): string | undefined => {
    const value = app.node.tryGetContext(key);
    return value === undefined || value === '' ? undefined : String(value);
  };
  const groups = (context('autoScalingGroupNames') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const demoValue = context('demo');
  if (demoValue !== undefined && demoValue !== 'true' && demoValue !== 'false') {
    throw new UsageError(`-c demo must be true or false, got "${demoValue}"`);
  }
  const demo = demoValue === 'true';
  const stackName = context('stackName') ?? 'FleetDrainer';
  if (!STACK_NAME.test(stackName)) {
    throw new UsageError(
      `-c stackName must be a CloudFormation stack name (a letter, then letters, digits or hyphens; at most ${STACK_NAME_MAX_CHARS} characters), got "${stackName}"`,
    );
  }
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
  const onRebalance = context('onRebalanceRecommendation');
  if (onRebalance !== undefined && !(REBALANCE_ACTIONS as readonly string[]).includes(onRebalance)) {
    throw new UsageError(
      `-c onRebalanceRecommendation must be ${REBALANCE_ACTIONS.slice(0, -1).join(', ')} or ${REBALANCE_ACTIONS.at(-1)}, got "${onRebalance}"`,
    );
  }
  if (groups.length === 0 && !demo) throw new UsageError(USAGE);

  if (groups.length > 0) {
    if (policy === undefined) {
      throw new UsageError(
        'attaching to existing groups needs their drain policy: -c policy=./drain.json (see "Writing a drain policy" in lib/README.md)',
      );
    }
    const stack = new Stack(app, stackName, {
      description: 'fleet-drainer: drains instances before their Auto Scaling group terminates them',
    });
    new FleetDrainer(stack, 'Drainer', {
      groups,
      policy,
      ...(maxDrainSeconds === undefined ? {} : { maxDrainTime: Duration.seconds(Number(maxDrainSeconds)) }),
      ...(maxConcurrentDrains === undefined ? {} : { maxConcurrentDrains: Number(maxConcurrentDrains) }),
      ...(onRebalance === undefined ? {} : { onRebalanceRecommendation: onRebalance as RebalanceAction }),
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
