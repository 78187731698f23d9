// What the agent and the Lambda read from anything thrown: its message, its code, and how it is logged.
import { describe, expect, it } from 'vitest';
import { describeError, errorCode, errorMessage, MAX_CAUSE_DEPTH } from '../../common/errors.js';

const systemError = (code: string, message: string) => Object.assign(new Error(message), { code });
/** What an SDK v3 client throws: a subclass named for the service's error code. */
const sdkError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $metadata: {} });

describe('errorMessage', () => {
  it('is the message of an Error', () => {
    expect(errorMessage(new TypeError('bad type'))).toBe('bad type');
  });

  it('is the text of anything else thrown', () => {
    expect(errorMessage('plain string')).toBe('plain string');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
  });
});

describe('errorCode', () => {
  it('is the code of a Node system error', () => {
    expect(errorCode(systemError('ENOENT', 'no such file'))).toBe('ENOENT');
  });

  it('is the name of an SDK v3 service exception', () => {
    expect(errorCode(sdkError('ValidationError', 'No active Lifecycle Action found'))).toBe(
      'ValidationError',
    );
    expect(errorCode(Object.assign(new Error('denied'), { name: 'AccessDenied' }))).toBe('AccessDenied');
  });

  it('is the name of an error class', () => {
    expect(errorCode(new TypeError('x'))).toBe('TypeError');
  });

  it('is undefined for a plain Error and for what is not an object', () => {
    expect(errorCode(new Error('x'))).toBeUndefined();
    expect(errorCode('ENOENT')).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
  });

  it('prefers the code of a system error to its name', () => {
    expect(errorCode(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });
});

describe('describeError', () => {
  it('gives name, message and code as plain JSON', () => {
    const described = describeError(systemError('EACCES', 'permission denied'));
    expect(described).toEqual({ name: 'Error', message: 'permission denied', code: 'EACCES' });
    expect(JSON.parse(JSON.stringify(described))).toEqual(described);
  });

  it('leaves the code out when it is the name', () => {
    expect(describeError(sdkError('AccessDenied', 'no'))).toEqual({ name: 'AccessDenied', message: 'no' });
  });

  it('follows the cause chain', () => {
    const error = new Error('SendCommand failed', { cause: sdkError('InvalidInstanceId', 'not managed') });
    expect(describeError(error)).toEqual({
      name: 'Error',
      message: 'SendCommand failed',
      cause: { name: 'InvalidInstanceId', message: 'not managed' },
    });
  });

  it(`stops after ${MAX_CAUSE_DEPTH} causes, even on a cycle`, () => {
    const error = new Error('loop');
    error.cause = error;
    let depth = 0;
    for (let described = describeError(error); described.cause; described = described.cause) depth += 1;
    expect(depth).toBe(MAX_CAUSE_DEPTH);
  });

  it('describes what is not an Error by its type', () => {
    expect(describeError('boom')).toEqual({ name: 'string', message: 'boom' });
  });
});
