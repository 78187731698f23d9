// The AWS Query protocol as EC2 Auto Scaling and CloudFormation speak it: form-encoded POST with `Action` and
// `Version`, XML responses in the service namespace, `<ErrorResponse>` documents for errors.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonErrors.html

import { AwsError, constraintMessage } from './aws-error';
import { renderObject, type XmlObject } from './xml';

export const AUTO_SCALING_NAMESPACE = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
/** CloudFormation's API version, which its SDK client sends as `Version`, and its XML namespace. */
export const CLOUDFORMATION_VERSION = '2010-05-15';
export const CLOUDFORMATION_NAMESPACE = `http://cloudformation.amazonaws.com/doc/${CLOUDFORMATION_VERSION}/`;

/** The flat form parameters of one request (`AutoScalingGroupNames.member.1=…`). */
export class QueryParams {
  private readonly params: URLSearchParams;
  constructor(body: string) {
    this.params = new URLSearchParams(body);
  }
  get action(): string | undefined {
    return this.params.get('Action') ?? undefined;
  }
  get version(): string | undefined {
    return this.params.get('Version') ?? undefined;
  }
  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }
  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) {
      const member = name.charAt(0).toLowerCase() + name.slice(1);
      throw new AwsError('ValidationError', constraintMessage('null', member, 'not be null'));
    }
    return value;
  }
  integer(name: string): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) throw new AwsError('ValidationError', `Invalid value '${value}' for ${name}`);
    return Number(value);
  }
  boolean(name: string): boolean | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : value === 'true';
  }
  /** A list serialized as `Name.member.1`, `Name.member.2`, …; undefined when absent. */
  list(name: string): string[] | undefined {
    const items: string[] = [];
    for (let index = 1; index <= 1000; index += 1) {
      const value = this.params.get(`${name}.member.${index}`);
      if (value === null) break;
      items.push(value);
    }
    return items.length === 0 && !this.params.has(name) ? undefined : items;
  }
}

/** `<XResponse xmlns=…><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>`. */
export function queryResponse(
  action: string,
  result: XmlObject,
  requestId: string,
  namespace = AUTO_SCALING_NAMESPACE,
): string {
  return (
    `<?xml version="1.0"?>\n<${action}Response xmlns="${namespace}">` +
    `<${action}Result>${renderObject(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The error document every Query service returns. */
export function queryError(error: AwsError, requestId: string, namespace = AUTO_SCALING_NAMESPACE): string {
  return (
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${namespace}">` +
    renderObject({ Error: { Type: error.type, Code: error.code, Message: error.message } }) +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
