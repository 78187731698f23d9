// The loopback HTTP endpoint the real SDK clients talk to (AWS_ENDPOINT_URL). Routes by protocol: a JSON
// request (1.1 for SSM and EventBridge, 1.0 for SQS) carries `X-Amz-Target`, a Query request is a form with
// `Action` and `Version` (2010-05-15: CloudFormation; else Auto Scaling). Signatures are not checked; the
// region they are made for is read, for the calls that depend on it.

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from './aws-error';
import type { ApiFaults, Service } from './faults';
import { JSON_CONTENT_TYPE, jsonError, parseTarget } from './json-protocol';
import {
  CLOUDFORMATION_NAMESPACE,
  CLOUDFORMATION_VERSION,
  QueryParams,
  queryError,
  queryResponse,
} from './query-protocol';
import { SQS_CONTENT_TYPE, sqsError } from './sqs-api';
import type { XmlObject } from './xml';

/** One API call as the twin saw it: for tests and the drill's counters. */
export interface ApiCall {
  service: Service;
  operation: string;
  input: Record<string, unknown>;
  atMs: number;
  errorCode: string | undefined;
}

/** What the server dispatches to. */
export interface ApiBackend {
  now(): number;
  faults: ApiFaults;
  autoScaling(params: QueryParams): XmlObject;
  /** CloudFormation's Query actions; `region`: the one the request was signed for, if it says. */
  cloudFormation?(params: QueryParams, region: string | undefined): XmlObject;
  json(service: JsonService, operation: string, input: Record<string, unknown>): unknown;
}

type JsonService = Exclude<Service, 'autoscaling' | 'cloudformation'>;

const JSON_SERVICES: Record<string, JsonService> = {
  AmazonSSM: 'ssm',
  AWSEvents: 'events',
  AmazonSQS: 'sqs',
};
/** Bodies are small for these APIs; anything larger is a client bug. */
const MAX_BODY_BYTES = 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AwsError('SerializationException', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

/**
 * The region a SigV4 request was signed for: the credential scope of its Authorization header,
 * `Credential=<key>/<date>/<region>/<service>/aws4_request`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
export function signedRegion(authorization: string | undefined): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/.exec(authorization ?? '')?.[1];
}

/** A running twin endpoint. */
export interface ApiServer {
  url: string;
  calls: ApiCall[];
  close(): Promise<void>;
}

export async function startApiServer(backend: ApiBackend): Promise<ApiServer> {
  const calls: ApiCall[] = [];
  const server: Server = createServer((request, response) => {
    void answer(request, response).catch(() => send(response, 500, 'text/plain', 'twin internal error'));
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    const common = { 'x-amzn-requestid': requestId, date: new Date(backend.now()).toUTCString() };
    if (typeof target === 'string') {
      const parsed = parseTarget(target);
      const service = parsed && JSON_SERVICES[parsed.service];
      const call: ApiCall = {
        service: service ?? 'ssm',
        operation: parsed?.operation ?? target,
        input: {},
        atMs: backend.now(),
        errorCode: undefined,
      };
      try {
        if (!parsed || !service) throw new AwsError('UnknownOperationException', `Unknown target ${target}`);
        call.input = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        calls.push(call);
        const fault = backend.faults.take(service, parsed.operation, call.atMs, call.input);
        if (fault) throw fault;
        send(
          response,
          200,
          service === 'sqs' ? SQS_CONTENT_TYPE : JSON_CONTENT_TYPE,
          JSON.stringify(backend.json(service, parsed.operation, call.input)),
          common,
        );
      } catch (error) {
        const awsError =
          error instanceof AwsError ? error : new AwsError('InternalServerError', String(error), 500);
        call.errorCode = awsError.code;
        if (service === 'sqs') {
          const { body: errorBody, headers } = sqsError(awsError);
          send(response, awsError.status, SQS_CONTENT_TYPE, errorBody, { ...common, ...headers });
          return;
        }
        send(response, awsError.status, JSON_CONTENT_TYPE, jsonError(awsError), {
          ...common,
          'x-amzn-errortype': awsError.code,
        });
      }
      return;
    }
    const params = new QueryParams(body);
    const action = params.action ?? '';
    const cloudFormation = params.version === CLOUDFORMATION_VERSION;
    const namespace = cloudFormation ? CLOUDFORMATION_NAMESPACE : undefined;
    const call: ApiCall = {
      service: cloudFormation ? 'cloudformation' : 'autoscaling',
      operation: action,
      input: Object.fromEntries(new URLSearchParams(body)),
      atMs: backend.now(),
      errorCode: undefined,
    };
    calls.push(call);
    try {
      const fault = backend.faults.take(call.service, action, call.atMs, call.input);
      if (fault) throw fault;
      const result = !cloudFormation
        ? backend.autoScaling(params)
        : backend.cloudFormation
          ? backend.cloudFormation(params, signedRegion(request.headers.authorization))
          : undefined;
      if (result === undefined)
        throw new AwsError(
          'InvalidAction',
          `Could not find operation ${action} for version ${params.version}`,
        );
      send(response, 200, 'text/xml', queryResponse(action, result, requestId, namespace), common);
    } catch (error) {
      const awsError =
        error instanceof AwsError ? error : new AwsError('InternalFailure', String(error), 500);
      call.errorCode = awsError.code;
      send(response, awsError.status, 'text/xml', queryError(awsError, requestId, namespace), common);
    }
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
