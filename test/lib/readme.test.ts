// lib/README.md states the construct's defaults, bounds and what it deploys: each number there is checked
// here against the constant the code uses, or against the synthesized template.

import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { POLICY_PARAMETER_MAX_CHARS } from '../../agent/policy/drain-parameters';
import { EXIT } from '../../agent/report/exit-codes';
import { SSM_STDOUT_MAX_BYTES } from '../../agent/report/report';
import { OPERATOR_OUTPUT_DESCRIPTION } from '../../common/operator-config';
import { PLAN_COMMENT_PREFIX } from '../../common/plan-output';
import { DEFAULT_ADOPTION_DELAY_SECONDS, DEFAULT_EXPIRY_GRACE_SECONDS } from '../../lambda/config';
import { STATUS_BATCH_CONCURRENCY } from '../../lambda/create-handler';
import {
  DELIVERY_TIMEOUT_SECONDS,
  SPOT_NOTICE_S,
  SPOT_REPORT_MARGIN_S,
} from '../../lambda/decide/drain-command';
import { HEARTBEAT_MARGIN_MS } from '../../lambda/decide/heartbeat-schedule';
import { retryDelaySeconds } from '../../lambda/sqs-batch';
import { SERVICE_NAME } from '../../lambda/telemetry-names';
import { DEMO_JOB_SECONDS, DEMO_WORKERS_PER_INSTANCE, DemoStack } from '../../lib/demo-stack';
import {
  EVENT_PATTERN_LIMIT_CHARS,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_LIMIT_CHARS,
  OUTPUT_DESCRIPTION_LIMIT_BYTES,
  ROLE_INLINE_POLICIES_LIMIT_CHARS,
  STACK_OUTPUTS_LIMIT,
} from '../../lib/deploy-quotas';
import {
  DOCUMENT_CONTENT_LIMIT_BYTES,
  DOCUMENT_EXIT_STATUS,
  documentContentBytes,
  MIN_NODE_MAJOR,
  MIN_NODE_MINOR,
  WATCHDOG_GRACE_SECONDS,
  WATCHDOG_MARGIN_SECONDS,
} from '../../lib/drain-document';
import {
  ASYNC_RETRY_ATTEMPTS,
  apiBudgetSeconds,
  DEFAULT_ALARMS,
  DEFAULT_HOOK_NAME_PREFIX,
  DEFAULT_MAX_CONCURRENT_DRAINS,
  DEFAULT_MAX_DRAIN_TIME,
  DEFAULT_REBALANCE_ACTION,
  DEFAULT_RECONCILE_PERIOD,
  DEFAULT_RESULT_POLICY,
  DOCUMENT_TIMEOUT_MARGIN,
  EVENT_QUEUE_AGE_ALARM,
  EVENT_QUEUE_BATCH_SIZE,
  EVENT_QUEUE_MAX_CONCURRENCY,
  EVENT_QUEUE_MAX_RECEIVE_COUNT,
  EVENT_QUEUE_RETENTION,
  EVENT_QUEUE_VISIBILITY_FACTOR,
  FleetDrainer,
  FUNCTION_TIMEOUT,
  HEARTBEAT_TIMEOUT_HEADROOM,
  HOST_STATE_DIR,
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  LIFECYCLE_QUEUE_BATCH_SIZE,
  LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS,
  LOG_RETENTION,
  MAX_CONCURRENT_DRAINS,
  MAX_DOCUMENT_TIMEOUT_SECONDS,
  MAX_RECONCILE_PERIOD,
  MIN_DRAIN_TIME,
  MIN_HEARTBEAT_TIMEOUT_SECONDS,
  MIN_RECONCILE_PERIOD,
  maxDrainSeconds,
  OUTCOMES,
  PLANNED_AUTO_SCALING_CALLS_PER_SECOND,
  REBALANCE_ACTIONS,
  REBALANCE_RECOMMENDATION_DETAIL_TYPE,
  RULE_MAX_EVENT_AGE,
  RULE_RETRY_ATTEMPTS,
  SPOT_INTERRUPTION_DETAIL_TYPE,
  STATUS_QUEUE_MAX_CONCURRENCY,
  TRIGGERS,
} from '../../lib/index';
import { OPERATOR_COMMANDS, operatorPolicyDocument, operatorStatements } from '../../lib/operator-access';
import { unwrap } from '../docs/markdown';
import { documentScript, drainerStack, onlyResource, POLICY } from './helpers';

const readme = readFileSync(new URL('../../lib/README.md', import.meta.url), 'utf8');
/** The README with every paragraph and list item on one line: a fact may wrap anywhere. */
const text = unwrap(readme);
const n = (value: number) => value.toLocaleString('en-US');

describe('the props table', () => {
  it('quotes the defaults and ranges the construct uses', () => {
    const longest = maxDrainSeconds(DEFAULT_RECONCILE_PERIOD.toSeconds());
    const hm = `${Math.floor(longest / 3600)} h ${Math.floor((longest % 3600) / 60)} min`;
    expect(readme).toContain(
      `| \`maxDrainTime\` | ${DEFAULT_MAX_DRAIN_TIME.toHumanString()} | ${MIN_DRAIN_TIME.toHumanString()} – ${hm} `,
    );
    expect(readme).toContain(
      `| \`maxConcurrentDrains\` | ${DEFAULT_MAX_CONCURRENT_DRAINS} | whole number, 1 – ${n(MAX_CONCURRENT_DRAINS)}: `,
    );
    expect(readme).toContain(
      `H ≥ ${HEARTBEAT_TIMEOUT_HEADROOM} × this / ${PLANNED_AUTO_SCALING_CALLS_PER_SECOND} s (10,000 → ${n(apiBudgetSeconds(10_000))} s)`,
    );
    expect(readme).toContain(`| \`resultPolicy\` | \`${DEFAULT_RESULT_POLICY}\` |`);
    expect(readme).toContain(
      `| \`reconcilePeriod\` | ${DEFAULT_RECONCILE_PERIOD.toHumanString()} | whole minutes, ${MIN_RECONCILE_PERIOD.toMinutes()} – ${MAX_RECONCILE_PERIOD.toMinutes()}:`,
    );
    expect(readme).toContain(`| \`alarms\` | \`${DEFAULT_ALARMS}\` |`);
    expect(readme).toContain(
      `| \`onRebalanceRecommendation\` | \`${DEFAULT_REBALANCE_ACTION}\` | or \`${REBALANCE_ACTIONS[1]}\` (the policy's \`prepare\` steps only) or \`${REBALANCE_ACTIONS[2]}\` (a full drain with \`maxDrainTime\`):`,
    );
    expect(REBALANCE_ACTIONS).toEqual([DEFAULT_REBALANCE_ACTION, 'prepare', 'drain']);
    expect(readme).toContain(
      `| \`hookName\` | \`${DEFAULT_HOOK_NAME_PREFIX}-<the drainer's unique name>\` |`,
    );
    expect(readme).toContain(`\`maxDrainTime\` must be at most 1 day 23 hours (${longest} s)`);
  });

  it('quotes the deploy-time quotas checked at synth', () => {
    expect(text).toContain(`inline policies (${n(ROLE_INLINE_POLICIES_LIMIT_CHARS)} characters)`);
    expect(text).toContain(
      `managed policies (${n(MANAGED_POLICY_LIMIT_CHARS)} each, ${MANAGED_POLICIES_PER_ROLE} per role)`,
    );
    expect(text).toContain(`environment (${n(LAMBDA_ENVIRONMENT_LIMIT_BYTES)} bytes`);
    expect(text).toContain(`event patterns (${n(EVENT_PATTERN_LIMIT_CHARS)})`);
    expect(text).toContain(
      `customer-managed policies of at most ${n(MANAGED_POLICY_LIMIT_CHARS)} characters`,
    );
  });
});

describe('HeartbeatTimeout H', () => {
  it('gives the formula with the overheads the code adds up', () => {
    expect(LIFECYCLE_OVERHEAD_SECONDS).toBe(
      DELIVERY_TIMEOUT_SECONDS + DEFAULT_EXPIRY_GRACE_SECONDS + DEFAULT_ADOPTION_DELAY_SECONDS,
    );
    expect(text).toContain(`the delivery wait (${DELIVERY_TIMEOUT_SECONDS} s:`);
    expect(text).toContain(`after ${DELIVERY_TIMEOUT_SECONDS} s the Lambda completes`);
    expect(text).toContain(`as \`expired\` (${DEFAULT_EXPIRY_GRACE_SECONDS} s)`);
    expect(text).toContain(`whose event was lost (${DEFAULT_ADOPTION_DELAY_SECONDS} s)`);
    expect(text).toContain(`H ≥ (drain + ${LIFECYCLE_OVERHEAD_SECONDS} s) / 99`);
    expect(text).toContain(
      `at least ${HEARTBEAT_TIMEOUT_HEADROOM} × \`maxConcurrentDrains\` / ${PLANNED_AUTO_SCALING_CALLS_PER_SECOND} s`,
    );
    expect(text).toContain(`the ${PLANNED_AUTO_SCALING_CALLS_PER_SECOND} calls/s fleet-drainer plans to use`);
    expect(text).toContain(
      `(1,000 → ${n(apiBudgetSeconds(1000))} s, under the floor; 10,000 → ${n(apiBudgetSeconds(10_000))} s)`,
    );
    expect(apiBudgetSeconds(1000)).toBeLessThan(MIN_HEARTBEAT_TIMEOUT_SECONDS);
    expect(text).toContain(`never below **${MIN_HEARTBEAT_TIMEOUT_SECONDS} s**`);
  });

  it('gives the heartbeat slot of the smallest H', () => {
    const marginMinutes = HEARTBEAT_MARGIN_MS / 60_000;
    const slotSeconds =
      (MIN_HEARTBEAT_TIMEOUT_SECONDS - DEFAULT_RECONCILE_PERIOD.toSeconds() - HEARTBEAT_MARGIN_MS / 1000) / 2;
    expect(text).toContain(`the margin (up to ${marginMinutes} min)`);
    expect(text).toContain(
      `so ${MIN_HEARTBEAT_TIMEOUT_SECONDS} s means a heartbeat every ${slotSeconds / 60} minutes (${3600 / slotSeconds} an hour per drain`,
    );
  });

  it('gives H for the drain times it names', () => {
    const period = DEFAULT_RECONCILE_PERIOD.toSeconds();
    const longest = maxDrainSeconds(period);
    expect(text).toContain(
      `For 1 hour H = ${heartbeatTimeoutSeconds(3600, period)} s; for 40 hours H = ${heartbeatTimeoutSeconds(144_000, period)} s`,
    );
    expect(text).toContain(`the longest drain, ${n(longest)} s`);
    expect(text).toContain(`gets H = ${heartbeatTimeoutSeconds(longest, period)} s`);
  });
});

describe('what it deploys', () => {
  let template: ReturnType<typeof drainerStack>['template'];
  let alarms: string[];
  beforeAll(() => {
    const stack = drainerStack();
    template = stack.template;
    alarms = stack.drainer.alarms.map((alarm) => alarm.node.id);
  });

  it('counts the resources as synthesized', () => {
    const count = (type: string) => Object.keys(template.findResources(type)).length;
    const words = ['no', 'one', 'two', 'three', 'four'];
    expect(count('AWS::SSM::Document')).toBe(1);
    expect(count('AWS::SQS::Queue')).toBe(3);
    expect(text).toContain(
      `one SSM Command document that carries the drain agent, one Lambda function, ${words[count('AWS::Events::Rule')]} EventBridge rules, two SQS queues that buffer events for it, a dead-letter queue,`,
    );
  });

  it('describes the Lambda as synthesized', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (resource) => (resource as { Properties: { Handler?: string } }).Properties.Handler === 'index.handler',
    ) as { Properties: { Runtime: string; Architectures: string[]; MemorySize: number; Timeout: number } };
    const { Runtime, Architectures, MemorySize, Timeout } = fn.Properties;
    const node = /^nodejs(\d+)\.x$/.exec(Runtime)?.[1];
    expect(Timeout).toBe(FUNCTION_TIMEOUT.toSeconds());
    expect(text).toContain(
      `**The Lambda** (Node.js ${node}, ${Architectures[0]}, ${MemorySize} MB, ${FUNCTION_TIMEOUT.toMinutes()}-minute timeout, logs kept ${LOG_RETENTION} days)`,
    );
    expect(text).toContain(
      `retries (${RULE_RETRY_ATTEMPTS} attempts, ${RULE_MAX_EVENT_AGE.toHumanString().replace(' hours', '')} hours)`,
    );
    expect(text).toContain(`(after Lambda's ${ASYNC_RETRY_ATTEMPTS} retries)`);
  });

  it('describes the event queues and their mappings as synthesized', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (resource) =>
        (resource as { Properties: { BatchSize: number; ScalingConfig: { MaximumConcurrency: number } } })
          .Properties,
    );
    expect(mappings.map((mapping) => mapping.BatchSize)).toEqual([
      LIFECYCLE_QUEUE_BATCH_SIZE,
      EVENT_QUEUE_BATCH_SIZE,
    ]);
    const windows = mappings.map(
      (mapping) => (mapping as { MaximumBatchingWindowInSeconds?: number }).MaximumBatchingWindowInSeconds,
    );
    expect(windows).toEqual([LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS, undefined]);
    expect(text).toContain(
      `Lifecycle events come in batches of up to ${LIFECYCLE_QUEUE_BATCH_SIZE}, gathered for ${LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS} s`,
    );
    const concurrency = mappings.map((mapping) => mapping.ScalingConfig.MaximumConcurrency).sort();
    expect(concurrency).toEqual([EVENT_QUEUE_MAX_CONCURRENCY, STATUS_QUEUE_MAX_CONCURRENCY].sort());
    expect(STATUS_BATCH_CONCURRENCY).toBe(1);
    expect(text).toContain(`kept ${EVENT_QUEUE_RETENTION.toDays()} days)`);
    expect(text).toContain(`Status events come in batches of ${EVENT_QUEUE_BATCH_SIZE};`);
    expect(text).toContain(
      `At most ${EVENT_QUEUE_MAX_CONCURRENCY} lifecycle batches run at once, their records all`,
    );
    expect(text).toContain(
      `at most ${STATUS_QUEUE_MAX_CONCURRENCY} status batches run at once, their records one at a time`,
    );
    const visibility = EVENT_QUEUE_VISIBILITY_FACTOR * FUNCTION_TIMEOUT.toMinutes();
    expect(text).toContain(
      `hidden for ${visibility} minutes (${EVENT_QUEUE_VISIBILITY_FACTOR} × the function timeout`,
    );
    const delays = [1, 2, 3, 4].map(retryDelaySeconds);
    expect(retryDelaySeconds(5)).toBe(delays[3]);
    expect(text).toContain(
      `after ${delays[0]} s, ${delays[1]} s, ${delays[2]} s, then ${delays[3]} s, and after ${EVENT_QUEUE_MAX_RECEIVE_COUNT} receives`,
    );
  });

  it('describes the document and its exit codes as the script maps them', () => {
    const content = onlyResource(template, 'AWS::SSM::Document').Content;
    const stated = Number(/about (\d+) KB of SSM's (\d+) KB/.exec(text)?.[1]);
    expect(Math.abs(documentContentBytes(content) / 1024 - stated)).toBeLessThanOrEqual(3);
    expect(text).toContain(`about ${stated} KB of SSM's ${DOCUMENT_CONTENT_LIMIT_BYTES / 1024} KB`);
    expect(text).toContain(
      `a document of about ${stated} KB and a report under ${SSM_STDOUT_MAX_BYTES / 1000} KB`,
    );
    expect(text).toContain(
      `it checks \`node\` (≥ ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR}, else exit ${EXIT.config}`,
    );
    expect(text).toContain(`**Node.js ≥ ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR}** at \`node\``);
    expect(text).toContain(`Without it the drain exits ${EXIT.config} at once`);
    expect(text).toContain(`\`${HOST_STATE_DIR}/fleet-drain-agent-<sha>.js\``);
    const success = Object.entries(DOCUMENT_EXIT_STATUS)
      .filter(([, status]) => status === 0)
      .map(([code]) => code);
    const kept = Object.entries(DOCUMENT_EXIT_STATUS)
      .filter(([code, status]) => status !== 0 && Number(code) === status)
      .map(([code]) => code);
    expect(kept.length + success.length).toBe(Object.keys(DOCUMENT_EXIT_STATUS).length);
    expect(text).toContain(`(agent exit ${success.join(' or ')}: drained, nothing, forced → 0)`);
    expect(text).toContain(
      `\`Failed\` only for ${kept.slice(0, -1).join(', ')}, ${kept.at(-1)} (kept as they are)`,
    );
    expect(text).toContain(`a death by signal becomes ${EXIT.internal}`);
    expect(text).toContain(
      `The watchdog sends the agent \`TERM\` ${WATCHDOG_MARGIN_SECONDS} s past the drain's deadline and \`KILL\` ${WATCHDOG_GRACE_SECONDS} s later, then the script exits ${EXIT.internal}`,
    );
    expect(text).toContain(`the maximum drain time + ${DOCUMENT_TIMEOUT_MARGIN.toMinutes()} minutes`);
    expect(text).toContain(`(at most ${MAX_DOCUMENT_TIMEOUT_SECONDS / 3600} h)`);
    const script = documentScript(template);
    const agentVersion = /SSM Agents? (?:≥|before) (\d+\.\d+\.\d+\.\d+)/.exec(text)?.[1] ?? 'none';
    expect(script).toContain(`SSM Agents before ${agentVersion} do not export`);
    expect(text).toContain(`for SSM Agents before ${agentVersion}, which do not export`);
    expect(script).toContain('chmod 700 "$state_dir"');
    expect(text).toContain('(directory mode 700, root only)');
  });

  it('names the metrics dimension the Lambda logs under', () => {
    expect(text).toContain(
      `dimension \`service\` = \`drainer.serviceName\`, \`${SERVICE_NAME}-<the drainer's unique name>\``,
    );
  });

  it('lists the alarms the construct creates, and prices that many', () => {
    const section = readme.slice(
      readme.indexOf('## Alarms and dashboard'),
      readme.indexOf('## What it costs'),
    );
    expect([...section.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1])).toEqual(alarms);
    expect(readme).toContain(`| CloudWatch alarms: ${alarms.length} × $0.10 |`);
    expect(text).toContain(
      `an event has waited ${EVENT_QUEUE_AGE_ALARM.toMinutes()} minutes in the lifecycle queue`,
    );
    expect(text).toContain(
      `an event has waited ${EVENT_QUEUE_AGE_ALARM.toMinutes()} minutes in the status queue`,
    );
  });

  it('names every outcome a finish event may carry', () => {
    expect(text).toContain(
      `\`outcome\` on a finish is one of ${OUTCOMES.map((o) => `\`${o}\``).join(', ')}.`,
    );
  });
});

describe('the triggers', () => {
  const section = readme.slice(readme.indexOf('## Triggers'), readme.indexOf('## The events'));

  it('tables every trigger the metrics carry, and no other', () => {
    const rows = [...section.matchAll(/^\| `([\w-]+)` \|/gm)].map((match) => match[1]);
    expect(rows).toEqual([...TRIGGERS]);
  });

  it('names the events the Spot rule matches', () => {
    expect(section).toContain(`\`${SPOT_INTERRUPTION_DETAIL_TYPE}\``);
    expect(section).toContain(`\`${REBALANCE_RECOMMENDATION_DETAIL_TYPE}\``);
  });

  it('gives a Spot drain the two-minute warning less the report margin', () => {
    const warning = SPOT_NOTICE_S;
    const margin = SPOT_REPORT_MARGIN_S;
    expect(unwrap(section)).toContain(
      `| ${warning - margin} s: the two-minute warning (${warning} s from the event's time) less ${margin} s for the agent's report`,
    );
  });

  it('advises a setting for each case, and every setting it advises exists', () => {
    const advised = [...unwrap(section).matchAll(/\*\*[^*]+:\*\* `(\w+)`/g)].map((match) => match[1]);
    expect(advised.length).toBeGreaterThanOrEqual(2);
    for (const action of advised) expect(REBALANCE_ACTIONS).toContain(action);
  });
});

it('lists exactly the context keys the CDK app reads, with their defaults', () => {
  const app = readFileSync(new URL('../../lib/app.ts', import.meta.url), 'utf8');
  const read = new Set([...app.matchAll(/context\('(\w+)'\)/g)].map((match) => match[1]));
  const section = readme.slice(readme.indexOf('Context options'), readme.indexOf('A bad policy file'));
  const listed = new Set([...section.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1]));
  expect(listed).toEqual(read);
  expect(section).toContain(`in whole seconds (default ${DEFAULT_MAX_DRAIN_TIME.toSeconds()})`);
  expect(section).toContain(`(default ${DEFAULT_MAX_CONCURRENT_DRAINS};`);
  expect(app).toContain(`context('stackName') ?? 'FleetDrainer'`);
  expect(section).toContain('name of the attach stack (default `FleetDrainer`)');
});

it('describes the demo stack as synthesized', () => {
  const app = new App();
  const demo = Template.fromStack(new DemoStack(app, 'Demo', {}));
  const [group] = Object.values(demo.findResources('AWS::AutoScaling::AutoScalingGroup')) as {
    Properties: { DesiredCapacity: string };
  }[];
  const [template] = Object.values(demo.findResources('AWS::EC2::LaunchTemplate')) as {
    Properties: { LaunchTemplateData: { InstanceType: string } };
  }[];
  const words = ['zero', 'one', 'two', 'three', 'four'];
  const instances = words[Number(group?.Properties.DesiredCapacity)];
  const type = template?.Properties.LaunchTemplateData.InstanceType;
  expect(text).toContain(
    `a group of ${instances} \`${type}\` Amazon Linux 2023 instances with Node.js and ${words[DEMO_WORKERS_PER_INSTANCE]} demo workers each (\`demo-worker@N.service\`, jobs of ${DEMO_JOB_SECONDS} s)`,
  );
});

it('says how many groups of 60-character names fit in one drainer', { timeout: 120_000 }, () => {
  const groups = Array.from({ length: 500 }, (_, index) =>
    `group-${String(index).padStart(3, '0')}-`.padEnd(60, 'x'),
  );
  let message = '';
  try {
    const stack = new Stack(new App(), 'Quotas');
    new FleetDrainer(stack, 'Drainer', { groups, policy: POLICY });
    Template.fromStack(stack);
  } catch (error) {
    message = (error as Error).message;
  }
  const fit = Number(/at most (\d+) of these 500 fit in one/.exec(message)?.[1]);
  const stated = Number(
    /About (\d+) groups of 60-character names fit in one \(the environment is the first limit\)/.exec(
      text,
    )?.[1],
  );
  expect(message).toMatch(/environment would be up to/);
  expect(Math.abs(fit - stated)).toBeLessThanOrEqual(stated / 10);
});

it('asks for the Node.js the package declares', () => {
  const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
  };
  expect(text).toContain(`Node.js ${engines.node.replace('>=', '≥ ')} and this repository`);
});

describe('the Operators section', () => {
  const section = readme.slice(readme.indexOf('## Operators'), readme.indexOf('## What it costs'));
  const sectionText = unwrap(section);

  it.each(OPERATOR_COMMANDS)('prints the IAM policy grantOperator gives %s, with placeholders', (command) => {
    const block = new RegExp(`^\`${command}\`:\n\n\`\`\`json\n([\\s\\S]*?)\n\`\`\`$`, 'm').exec(section);
    expect(block, command).not.toBeNull();
    const placeholders = {
      stackArn: 'arn:aws:cloudformation:REGION:ACCOUNT:stack/STACK/*',
      documentArn: 'arn:aws:ssm:REGION:ACCOUNT:document/DOCUMENT',
      instanceArn: 'arn:aws:ec2:REGION:ACCOUNT:instance/*',
      groupNames: ['GROUP-1', 'GROUP-2'],
    };
    expect(JSON.parse(block?.[1] as string)).toEqual(
      operatorPolicyDocument(operatorStatements([command], placeholders)),
    );
  });

  it('quotes the output, its limits and plan mode as the code has them', () => {
    expect(sectionText).toContain(`whose Description is \`${OPERATOR_OUTPUT_DESCRIPTION}\``);
    expect(sectionText).toContain(
      `at most ${STACK_OUTPUTS_LIMIT} outputs in a template and a Description of at most ${n(OUTPUT_DESCRIPTION_LIMIT_BYTES)} bytes`,
    );
    expect(sectionText).toContain(`at most ${n(POLICY_PARAMETER_MAX_CHARS)} characters`);
    expect(sectionText).toContain(`a bad one is exit ${EXIT.config}`);
    expect(sectionText).toContain(`refused with any other action (exit ${EXIT.usage})`);
    expect(sectionText).toContain(`\`${PLAN_COMMENT_PREFIX} <instance>\``);
    expect(sectionText).toContain(`checked at ${LAMBDA_ENVIRONMENT_LIMIT_BYTES / 1024} KB`);
  });
});
