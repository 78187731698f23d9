// Benchmark harness (bundled by bench/lambda-bench.mjs, run in a fresh process): one reconcile tick over N
// in-flight drains. The real SDK clients are built as in the Lambda; their `send` is replaced by an
// in-memory fleet (the mocking point aws-sdk-client-mock uses), so what is measured is the drainer's own
// work: paging, parsing, planning, bounded fan-out, logging and metrics.
//
// Mode `send` replaces `send` (the mocking point of aws-sdk-client-mock): the drainer's own work only. Mode
// `wire` answers at the HTTP handler instead, so every call also goes through the SDK's full stack
// (serialisation, SigV4 signing, retry middleware, XML/JSON parsing).
//
// argv: <drains> <scenario: heartbeat|quiet> <mode: send|wire>. Prints one JSON line on fd 3 (stdout carries
// the logs).

import { writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CLIENT_OPTIONS, SQS_CLIENT_OPTIONS } from '../../lambda/aws/client-options';
import { createHandler } from '../../lambda/create-handler';
import { createLog, createMetricsPort, METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/telemetry';

const drains = Number(process.argv[2] ?? 1000);
const scenario = process.argv[3] ?? 'heartbeat';
const mode = process.argv[4] ?? 'send';
const GROUPS = ['bench-asg-a', 'bench-asg-b'];
const HOOK = 'drain-hook';
const H_SECONDS = 3600;
const REQUESTED_MS = Date.parse('2026-11-22T10:00:00Z');
// 'heartbeat': the first tick of the second heartbeat slot (slots of (H − P − 2 min) / 2 = 1710 s from the
// action's start), every drain is due (the worst tick). 'quiet': a tick in between.
const FIRST_DUE_S = Math.ceil((H_SECONDS - 60 - 120) / 2 / 60) * 60;
const TICK_MS = REQUESTED_MS + (scenario === 'heartbeat' ? FIRST_DUE_S : FIRST_DUE_S + 120) * 1000;

const hex = (index: number, width: number) => index.toString(16).padStart(width, '0');
const commands = Array.from({ length: drains }, (_, index) => ({
  CommandId: `10000000-0000-4000-8000-${hex(index, 12)}`,
  DocumentName: 'FleetDrain',
  Comment: `fleet-drainer i-${hex(index, 17)}`,
  Parameters: {
    drainId: [`00000000-0000-4000-8000-${hex(index, 12)}`],
    deadline: ['2026-11-22T12:00:00Z'],
    instanceId: [`i-${hex(index, 17)}`],
    autoScalingGroupName: [GROUPS[index % GROUPS.length] as string],
    lifecycleHookName: [HOOK],
  },
  InstanceIds: [`i-${hex(index, 17)}`],
  RequestedDateTime: new Date(REQUESTED_MS),
  Status: 'InProgress',
  StatusDetails: 'InProgress',
  TargetCount: 1,
  CompletedCount: 0,
}));
const groups = GROUPS.map((name, groupIndex) => ({
  AutoScalingGroupName: name,
  Instances: commands
    .filter((_, index) => index % GROUPS.length === groupIndex)
    .map((command) => ({
      InstanceId: command.InstanceIds[0],
      LifecycleState: 'Terminating:Wait',
      AvailabilityZone: 'us-west-2a',
      HealthStatus: 'Healthy',
      ProtectedFromScaleIn: false,
    })),
}));

const calls: Record<string, number> = {};
/** DescribeInstanceInformation: every instance named in the filter has an online agent. */
function agentsOf(
  input: Record<string, unknown>,
): { InstanceId: string; PingStatus: string; LastPingDateTime?: unknown }[] {
  const filters = (input.Filters ?? []) as { Key?: string; Values?: string[] }[];
  const ids = filters.find((filter) => filter.Key === 'InstanceIds')?.Values ?? [];
  return ids.map((id) => ({ InstanceId: id, PingStatus: 'Online', LastPingDateTime: new Date(TICK_MS) }));
}
type Input = Record<string, unknown> & { NextToken?: string };
const reply = async (name: string, input: Input): Promise<unknown> => {
  calls[name] = (calls[name] ?? 0) + 1;
  // Every AWS call is asynchronous; let the event loop turn as a real response would.
  await new Promise((resolve) => setImmediate(resolve));
  switch (name) {
    case 'ListCommandsCommand': {
      const start = Number(input.NextToken ?? 0);
      return {
        Commands: commands.slice(start, start + 50),
        NextToken: start + 50 < commands.length ? String(start + 50) : undefined,
      };
    }
    case 'DescribeAutoScalingGroupsCommand':
      return { AutoScalingGroups: groups };
    case 'DescribeInstanceInformationCommand':
      // Every agent is online (the tick looks up the agents of all in-flight drains).
      return { InstanceInformationList: agentsOf(input) };
    case 'PutEventsCommand':
      return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] };
    default:
      return {};
  }
};
function fake<T extends { send: unknown }>(client: T): T {
  (client as { send: unknown }).send = (command: { constructor: { name: string }; input: Input }) =>
    reply(command.constructor.name, command.input);
  return client;
}

// --- wire mode: canned HTTP responses --------------------------------------------------------------------
const xmlNs = 'xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"';
const groupsXml = `<DescribeAutoScalingGroupsResponse ${xmlNs}><DescribeAutoScalingGroupsResult><AutoScalingGroups>${groups
  .map(
    (group) =>
      `<member><AutoScalingGroupName>${group.AutoScalingGroupName}</AutoScalingGroupName><Instances>${group.Instances.map(
        (instance) =>
          `<member><InstanceId>${instance.InstanceId}</InstanceId><LifecycleState>Terminating:Wait</LifecycleState><AvailabilityZone>us-west-2a</AvailabilityZone><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`,
      ).join('')}</Instances></member>`,
  )
  .join(
    '',
  )}</AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`;
const okXml = (operation: string) =>
  `<${operation}Response ${xmlNs}><${operation}Result/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${operation}Response>`;
const toWire = (command: (typeof commands)[number]) => ({
  ...command,
  RequestedDateTime: command.RequestedDateTime.getTime() / 1000,
});

function wireReply(target: string, body: string): { type: string; body: string } {
  calls[target] = (calls[target] ?? 0) + 1;
  if (target === 'AmazonSSM.DescribeInstanceInformation') {
    const list = agentsOf(JSON.parse(body) as Input).map((agent) => ({
      ...agent,
      LastPingDateTime: TICK_MS / 1000,
    }));
    return { type: 'application/x-amz-json-1.1', body: JSON.stringify({ InstanceInformationList: list }) };
  }
  if (target === 'AmazonSSM.ListCommands') {
    const start = Number((JSON.parse(body) as { NextToken?: string }).NextToken ?? 0);
    return {
      type: 'application/x-amz-json-1.1',
      body: JSON.stringify({
        Commands: commands.slice(start, start + 50).map(toWire),
        NextToken: start + 50 < commands.length ? String(start + 50) : undefined,
      }),
    };
  }
  if (target === 'AWSEvents.PutEvents') {
    return {
      type: 'application/x-amz-json-1.1',
      body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] }),
    };
  }
  if (target === 'DescribeAutoScalingGroups') return { type: 'text/xml', body: groupsXml };
  return { type: 'text/xml', body: okXml(target) };
}

const wireHandler = {
  handle: async (request: { body?: unknown; headers: Record<string, string> }) => {
    const body =
      typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
    const target = request.headers['x-amz-target'] ?? new URLSearchParams(body).get('Action') ?? 'unknown';
    const answer = wireReply(target, body);
    await new Promise((resolve) => setImmediate(resolve));
    return {
      response: {
        statusCode: 200,
        headers: { 'content-type': answer.type },
        body: Readable.from([Buffer.from(answer.body)]),
      },
    };
  },
};
const clientOptions = {
  ...CLIENT_OPTIONS,
  region: 'us-west-2',
  ...(mode === 'wire' ? { requestHandler: wireHandler } : {}),
};
const maybeFake = <T extends { send: unknown }>(client: T): T => (mode === 'wire' ? client : fake(client));

const handler = createHandler({
  env: {
    FLEET_DRAINER_DOCUMENT_NAME: 'FleetDrain',
    FLEET_DRAINER_GROUP_NAMES: GROUPS.join(','),
    FLEET_DRAINER_HOOK_NAME: HOOK,
    FLEET_DRAINER_MAX_DRAIN_SECONDS: '7200',
    FLEET_DRAINER_HEARTBEAT_TIMEOUT_SECONDS: String(H_SECONDS),
  },
  autoScaling: maybeFake(new AutoScalingClient(clientOptions)),
  ssm: maybeFake(new SSMClient(clientOptions)),
  events: maybeFake(new EventBridgeClient(clientOptions)),
  sqs: maybeFake(new SQSClient({ ...clientOptions, ...SQS_CLIENT_OPTIONS })),
  log: createLog(new Logger({ serviceName: SERVICE_NAME })),
  metrics: createMetricsPort(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME })),
  now: () => TICK_MS + 1000,
});

const event = {
  version: '0',
  id: 'bench',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date(TICK_MS).toISOString().replace('.000Z', 'Z'),
  region: 'us-west-2',
  resources: [],
  detail: {},
};

const heapBefore = process.memoryUsage().heapUsed;
let heapPeak = heapBefore;
const sampler = setInterval(() => {
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
}, 5);
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const result = await handler(event);
const wallMs = performance.now() - wallBefore;
const cpu = process.cpuUsage(cpuBefore);
clearInterval(sampler);
heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
// The whole process (node, SDK, mocks and the tick): what a 256 MB Lambda must hold, an upper bound.
const maxRssMb = process.resourceUsage().maxRSS / 1024;
const heapGrowthMb = (heapPeak - heapBefore) / 2 ** 20;
writeSync(
  3,
  `${JSON.stringify({ drains, scenario, mode, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb, heapGrowthMb, summary: JSON.parse(result.result), calls })}\n`,
);
