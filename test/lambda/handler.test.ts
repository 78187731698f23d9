// The real entry point (lambda/handler.ts, module-scope clients) against a loopback HTTP endpoint given by
// AWS_ENDPOINT_URL, as the local twin will run it: no mocking of the SDK at all.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMAND_ID, ENV, GROUP, INSTANCE, lifecycleEvent } from './helpers';

interface Seen {
  target: string;
  body: string;
}

let server: Server;
const seen: Seen[] = [];

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(target: string): { type: string; body: string } {
  const json = (value: unknown) => ({ type: 'application/x-amz-json-1.1', body: JSON.stringify(value) });
  switch (target) {
    case 'DescribeAutoScalingInstances':
      return {
        type: 'text/xml',
        body: `<DescribeAutoScalingInstancesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingInstancesResult><AutoScalingInstances><member><InstanceId>${INSTANCE}</InstanceId><AutoScalingGroupName>${GROUP}</AutoScalingGroupName><LifecycleState>Terminating:Wait</LifecycleState><AvailabilityZone>us-west-2a</AvailabilityZone><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member></AutoScalingInstances></DescribeAutoScalingInstancesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingInstancesResponse>`,
      };
    case 'AmazonSSM.ListCommands':
      return json({ Commands: [] });
    case 'AmazonSSM.SendCommand':
      return json({ Command: { CommandId: COMMAND_ID } });
    case 'AWSEvents.PutEvents':
      return json({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    default:
      return json({});
  }
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = await readBody(request);
    const target = String(
      request.headers['x-amz-target'] ?? new URLSearchParams(body).get('Action') ?? 'unknown',
    );
    seen.push({ target, body });
    const { type, body: reply } = answer(target);
    response.writeHead(200, { 'content-type': type });
    response.end(reply);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  server.close();
});

async function importHandler(env: Record<string, string>) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const module = await import('../../lambda/handler');
  return module.handler;
}

describe('lambda/handler.ts', () => {
  it('runs a start against AWS_ENDPOINT_URL with the real SDK clients', async () => {
    const { port } = server.address() as AddressInfo;
    const handler = await importHandler({
      ...ENV,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-west-2',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    seen.length = 0;

    const result = await handler(
      lifecycleEvent({}, new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z')),
    );

    expect(result).toEqual({ kind: 'lifecycle', result: 'started' });
    // A fresh event needs no instance lookup (start-drain.ts).
    expect(seen.map((request) => request.target)).toEqual([
      'AmazonSSM.ListCommands',
      'AmazonSSM.SendCommand',
      'AWSEvents.PutEvents',
    ]);
  });

  it('makes no call at all with an invalid configuration', async () => {
    const { port } = server.address() as AddressInfo;
    const handler = await importHandler({
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      FLEET_DRAINER_DOCUMENT_NAME: '',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    seen.length = 0;
    expect(await handler(lifecycleEvent())).toEqual({ kind: 'config-error', result: 'ignored' });
    expect(seen).toEqual([]);
  });
});
