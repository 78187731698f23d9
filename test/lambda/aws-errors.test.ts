// Every AWS error of AWS-NOTES.md, as the real SDK v3 clients parse it from the wire (a fake HTTP handler
// stands in for the network), through our edge modules: what it becomes and what the drainer does.

import { Readable } from 'node:stream';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAutoScalingPort } from '../../lambda/aws/auto-scaling';
import { CLIENT_OPTIONS } from '../../lambda/aws/client-options';
import {
  AwsCallError,
  InstanceUnreachableError,
  InvocationNotFoundError,
  LifecycleConfigError,
  NoActiveLifecycleActionError,
} from '../../lambda/aws/errors';
import { createEventsPort } from '../../lambda/aws/events';
import { createSsmPort } from '../../lambda/aws/ssm';
import { DOCUMENT, GROUP, HOOK, INSTANCE, TOKEN } from './helpers';

interface FakeResponse {
  statusCode: number;
  body: string;
  headers?: Record<string, string>;
}

/** An SDK request handler that answers from a script and counts requests. */
function scriptedHandler(responses: FakeResponse[]) {
  const requests: { body: string; target: string | undefined }[] = [];
  return {
    requests,
    handler: {
      handle: async (request: { body?: unknown; headers: Record<string, string> }) => {
        const body =
          typeof request.body === 'string'
            ? request.body
            : new TextDecoder().decode(request.body as Uint8Array);
        requests.push({ body, target: request.headers['x-amz-target'] });
        const next = responses[Math.min(requests.length - 1, responses.length - 1)] as FakeResponse;
        return {
          response: {
            statusCode: next.statusCode,
            headers: { 'content-type': 'text/xml', ...next.headers },
            body: Readable.from([Buffer.from(next.body)]),
          },
        };
      },
    },
  };
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const xmlError = (code: string, message: string, type = 'Sender') =>
  `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`;
const xmlOk = (operation: string) =>
  `<${operation}Response xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><${operation}Result/><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></${operation}Response>`;
const jsonError = (type: string, message: string) => ({
  statusCode: 400,
  body: JSON.stringify({ __type: `com.amazonaws.ssm#${type}`, message }),
  headers: { 'content-type': 'application/x-amz-json-1.1' },
});

function autoScalingWith(responses: FakeResponse[]) {
  const scripted = scriptedHandler(responses);
  const client = new AutoScalingClient({
    ...CLIENT_OPTIONS,
    region: 'us-west-2',
    credentials,
    requestHandler: scripted.handler,
  });
  return { port: createAutoScalingPort(client), requests: scripted.requests };
}

function ssmWith(responses: FakeResponse[]) {
  const scripted = scriptedHandler(responses);
  const client = new SSMClient({
    ...CLIENT_OPTIONS,
    region: 'us-west-2',
    credentials,
    requestHandler: scripted.handler,
  });
  return { port: createSsmPort(client, DOCUMENT), requests: scripted.requests };
}

const action = { groupName: GROUP, hookName: HOOK, instanceId: INSTANCE, token: TOKEN };
const params = {
  drainId: TOKEN,
  deadline: '2026-11-22T10:30:00Z',
  instanceId: INSTANCE,
  autoScalingGroupName: GROUP,
  lifecycleHookName: HOOK,
  action: 'drain' as const,
};

/** Runs `call` with fake timers, so the SDK's backoff between retries takes no real time. */
async function withoutWaiting<T>(call: () => Promise<T>): Promise<T> {
  vi.useFakeTimers();
  const promise = call();
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let step = 0; step < 120 && !settled; step += 1) await vi.advanceTimersByTimeAsync(1000);
  return promise;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Auto Scaling errors', () => {
  it.each([
    `No active Lifecycle Action found with token ${TOKEN}`,
    `No active Lifecycle Action found with instance ID ${INSTANCE}`,
  ])('ValidationError "%s" → NoActiveLifecycleActionError, not retried', async (message) => {
    const { port, requests } = autoScalingWith([
      { statusCode: 400, body: xmlError('ValidationError', message) },
    ]);
    const error = await port.completeLifecycleAction(action, 'CONTINUE').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NoActiveLifecycleActionError);
    expect((error as Error).cause).toMatchObject({ name: 'ValidationError' });
    expect(requests).toHaveLength(1);
  });

  it('"No active" on the SDK’s retry of a completion is flagged: the lost first attempt may have done it', async () => {
    const { port, requests } = autoScalingWith([
      { statusCode: 500, body: xmlError('ResourceContention', 'pending update', 'Receiver') },
      {
        statusCode: 400,
        body: xmlError('ValidationError', `No active Lifecycle Action found with token ${TOKEN}`),
      },
    ]);
    const error = await withoutWaiting(() =>
      port.completeLifecycleAction(action, 'CONTINUE').catch((caught: unknown) => caught),
    );
    expect(requests).toHaveLength(2);
    expect(error).toBeInstanceOf(NoActiveLifecycleActionError);
    expect((error as NoActiveLifecycleActionError).afterRetry).toBe(true);
  });

  it('"No active" after throttled attempts is not flagged: a throttled attempt did nothing', async () => {
    const { port, requests } = autoScalingWith([
      { statusCode: 400, body: xmlError('Throttling', 'Rate exceeded') },
      { statusCode: 400, body: xmlError('Throttling', 'Rate exceeded') },
      {
        statusCode: 400,
        body: xmlError('ValidationError', `No active Lifecycle Action found with token ${TOKEN}`),
      },
    ]);
    const error = await withoutWaiting(() =>
      port.completeLifecycleAction(action, 'CONTINUE').catch((caught: unknown) => caught),
    );
    expect(requests).toHaveLength(3);
    expect(error).toBeInstanceOf(NoActiveLifecycleActionError);
    expect((error as NoActiveLifecycleActionError).afterRetry).toBe(false);
  });

  it('AccessDenied → LifecycleConfigError (the role lacks a permission), not retried', async () => {
    const { port, requests } = autoScalingWith([
      {
        statusCode: 403,
        body: xmlError('AccessDenied', 'not authorized to perform autoscaling:DescribeWarmPool'),
      },
    ]);
    await expect(port.describeWarmPoolInstances([GROUP])).rejects.toBeInstanceOf(LifecycleConfigError);
    expect(requests).toHaveLength(1);
  });

  it('any other ValidationError → LifecycleConfigError (a wrong group or hook name)', async () => {
    const { port } = autoScalingWith([
      { statusCode: 400, body: xmlError('ValidationError', 'No lifecycle hook found with name my-hook') },
    ]);
    await expect(port.recordHeartbeat(action)).rejects.toBeInstanceOf(LifecycleConfigError);
  });

  it('Throttling ("Rate exceeded") is retried by the SDK until it succeeds', async () => {
    const { port, requests } = autoScalingWith([
      { statusCode: 400, body: xmlError('Throttling', 'Rate exceeded') },
      { statusCode: 400, body: xmlError('Throttling', 'Rate exceeded') },
      { statusCode: 200, body: xmlOk('CompleteLifecycleAction') },
    ]);
    await withoutWaiting(() => port.completeLifecycleAction(action, 'CONTINUE'));
    expect(requests).toHaveLength(3);
    expect(requests[0]?.body).toContain('LifecycleActionToken=87654321-4321-4321-4321-210987654321');
  });

  it('ResourceContention (HTTP 500) is retried by the SDK until it succeeds', async () => {
    const { port, requests } = autoScalingWith([
      {
        statusCode: 500,
        body: xmlError('ResourceContention', 'You already have a pending update', 'Receiver'),
      },
      { statusCode: 200, body: xmlOk('RecordLifecycleActionHeartbeat') },
    ]);
    await withoutWaiting(() => port.recordHeartbeat(action));
    expect(requests).toHaveLength(2);
  });

  it('configures adaptive retries with enough attempts', () => {
    expect(CLIENT_OPTIONS).toEqual({ retryMode: 'adaptive', maxAttempts: 10 });
  });
});

describe('SSM errors', () => {
  it('InvalidInstanceId from SendCommand → InstanceUnreachableError', async () => {
    const { port } = ssmWith([
      jsonError('InvalidInstanceId', 'Instances [[i-1234567890abcdef0]] not in a valid state'),
    ]);
    await expect(port.sendDrainCommand(params)).rejects.toBeInstanceOf(InstanceUnreachableError);
  });

  it('InvocationDoesNotExist from GetCommandInvocation → InvocationNotFoundError', async () => {
    const { port } = ssmWith([jsonError('InvocationDoesNotExist', '')]);
    await expect(port.getInvocation('e8d3c0e4-71f7-4491-898f-c9b35bee5f3b', INSTANCE)).rejects.toBeInstanceOf(
      InvocationNotFoundError,
    );
  });

  it('ThrottlingException is retried by the SDK', async () => {
    const { port, requests } = ssmWith([
      jsonError('ThrottlingException', 'Rate exceeded'),
      {
        statusCode: 200,
        body: JSON.stringify({ Status: 'Success', ResponseCode: 0, StandardOutputContent: '' }),
        headers: { 'content-type': 'application/x-amz-json-1.1' },
      },
    ]);
    const invocation = await withoutWaiting(() =>
      port.getInvocation('e8d3c0e4-71f7-4491-898f-c9b35bee5f3b', INSTANCE),
    );
    expect(invocation.status).toBe('Success');
    expect(requests).toHaveLength(2);
  });

  it('sends the drain parameters, each as a one-element array, with the delivery timeout', async () => {
    const { port, requests } = ssmWith([
      {
        statusCode: 200,
        body: JSON.stringify({ Command: { CommandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b' } }),
        headers: { 'content-type': 'application/x-amz-json-1.1' },
      },
    ]);
    await port.sendDrainCommand(params);
    expect(requests[0]?.target).toBe('AmazonSSM.SendCommand');
    const body = JSON.parse(requests[0]?.body ?? '{}');
    expect(body).toMatchObject({ DocumentName: DOCUMENT, InstanceIds: [INSTANCE], TimeoutSeconds: 120 });
    expect(body.Parameters).toEqual(
      Object.fromEntries(Object.entries(params).map(([key, value]) => [key, [value]])),
    );
  });

  it('InvalidCommandId on a lookup by id is an empty listing (not known yet)', async () => {
    const { port } = ssmWith([jsonError('InvalidCommandId', '')]);
    await expect(port.listCommands({ commandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b' })).resolves.toEqual(
      [],
    );
  });

  it('InvalidCommandId on cancel is nothing left to cancel', async () => {
    const { port } = ssmWith([jsonError('InvalidCommandId', '')]);
    await expect(
      port.cancelCommand({
        commandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
        requestedMs: 0,
        status: 'InProgress',
        params,
      }),
    ).resolves.toBeUndefined();
  });

  it('other errors → AwsCallError with the cause', async () => {
    const { port } = ssmWith([jsonError('InternalServerError', 'oops')]);
    const error = await port.sendDrainCommand(params).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as Error).message).toMatch(/InternalServerError/);
    expect((error as Error).cause).toBeDefined();
  });

  it('AccessDeniedException → LifecycleConfigError (a configuration error: the role lacks a permission)', async () => {
    const { port } = ssmWith([jsonError('AccessDeniedException', 'not authorized')]);
    const error = await port.sendDrainCommand(params).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LifecycleConfigError);
    expect((error as Error).message).toMatch(/access denied/);
  });
});

describe('DescribeInstanceInformation with a host that is gone', () => {
  // SSM refuses the whole call when one id is terminated or shutting down, and the tick looks up exactly the
  // hosts that may have died: one dead host must not hide every other agent of the chunk.
  function agentsAnswering(gone: string) {
    const filters: string[][] = [];
    const client = new SSMClient({
      ...CLIENT_OPTIONS,
      region: 'us-west-2',
      credentials,
      requestHandler: {
        handle: async (request: { body?: unknown }) => {
          const text =
            typeof request.body === 'string'
              ? request.body
              : new TextDecoder().decode(request.body as Uint8Array);
          const body = JSON.parse(text) as { Filters: { Values: string[] }[] };
          const ids = body.Filters[0]?.Values ?? [];
          filters.push(ids);
          const response = ids.includes(gone)
            ? jsonError('InvalidInstanceId', 'Instance Id is not valid')
            : {
                statusCode: 200,
                body: JSON.stringify({
                  InstanceInformationList: ids.map((id) => ({ InstanceId: id, PingStatus: 'Online' })),
                }),
                headers: { 'content-type': 'application/x-amz-json-1.1' },
              };
          return {
            response: {
              statusCode: response.statusCode,
              headers: response.headers,
              body: Readable.from([Buffer.from(response.body)]),
            },
          };
        },
      },
    });
    return { port: createSsmPort(client, DOCUMENT), filters };
  }

  it('reads every other agent and leaves the refused id out (gone), in a bounded number of calls', async () => {
    const ids = Array.from({ length: 60 }, (_, index) => `i-${index.toString(16).padStart(17, '0')}`);
    const gone = ids[37] as string;
    const { port, filters } = agentsAnswering(gone);
    const agents = await port.describeAgents(ids);
    expect([...agents.keys()].sort()).toEqual(ids.filter((id) => id !== gone).sort());
    expect(filters.every((chunk) => chunk.length <= 50)).toBe(true);
    // The chunk of 50 without the bad id costs one call; the other is halved down to the bad id alone.
    expect(filters.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(50)) + 1);
  });

  it('other errors still fail the lookup (the tick then heartbeats instead of judging hosts)', async () => {
    const { port } = ssmWith([jsonError('AccessDeniedException', 'not authorized')]);
    await expect(port.describeAgents(['i-0123456789abcdef0'])).rejects.toBeInstanceOf(LifecycleConfigError);
  });
});

describe('EventBridge errors', () => {
  it('a failed entry in a 200 response → AwsCallError', async () => {
    const scripted = scriptedHandler([
      {
        statusCode: 200,
        body: JSON.stringify({
          FailedEntryCount: 1,
          Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }],
        }),
        headers: { 'content-type': 'application/x-amz-json-1.1' },
      },
    ]);
    const client = new EventBridgeClient({
      ...CLIENT_OPTIONS,
      region: 'us-west-2',
      credentials,
      requestHandler: scripted.handler,
    });
    await expect(createEventsPort(client, 'default').putEvent('Fleet Drain Started', {})).rejects.toThrow(
      /InternalFailure/,
    );
  });
});
