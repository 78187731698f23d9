// SendCommand's parameter handling, read from whatever the document declares: defaults fill what is not sent,
// every value (a default too) must match its allowedPattern, and the steps see the values as SSM gives them.

import { describe, expect, it } from 'vitest';
import { type DocumentContent, renderSteps, resolveParameters } from '../../twin/document';

/** A document shaped like the fleet-drain one: an action with a default, and an optional base64 policy. */
const document: DocumentContent = {
  schemaVersion: '2.2',
  parameters: {
    drainId: {
      type: 'String',
      allowedPattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$',
      interpolationType: 'ENV_VAR',
    },
    action: {
      type: 'String',
      allowedPattern: '^(drain|prepare|plan)$',
      default: 'drain',
      interpolationType: 'ENV_VAR',
    },
    policy: {
      type: 'String',
      allowedPattern: '^([A-Za-z0-9+/]{4}){0,1024}([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
      default: '',
      interpolationType: 'ENV_VAR',
    },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'drain',
      inputs: { runCommand: ['run "{{ action }}" "{{policy}}" "$SSM_policy"'] },
    },
  ],
};

const refused = (given: Record<string, string[]>) => {
  try {
    resolveParameters(document, given);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('accepted');
};

describe('document parameters', () => {
  it('fills every parameter not sent with its default, an empty one included', () => {
    const values = resolveParameters(document, { drainId: ['plan-0123456789ab'] });

    expect(values).toEqual({ drainId: 'plan-0123456789ab', action: 'drain', policy: '' });
    const [step] = renderSteps(document, values);
    expect(step?.script).toBe('run "drain" "" "$SSM_policy"');
    expect(step?.env).toMatchObject({ SSM_action: 'drain', SSM_policy: '' });
  });

  it('takes a value its pattern allows, in place of the default', () => {
    const policy = Buffer.from('{"version":1,"targets":[]}').toString('base64');
    const values = resolveParameters(document, { drainId: ['d-1'], action: ['plan'], policy: [policy] });

    expect(values).toMatchObject({ action: 'plan', policy });
    expect(renderSteps(document, values)[0]?.env.SSM_policy).toBe(policy);
  });

  it('refuses a value its pattern does not allow, naming the parameter', () => {
    expect(refused({ drainId: ['d-1'], action: ['kill'] })).toMatchObject({
      code: 'InvalidParameters',
      message: expect.stringContaining('"action"'),
    });
    expect(refused({ drainId: ['d-1'], policy: ['not base64; rm -rf /'] })).toMatchObject({
      code: 'InvalidParameters',
      message: expect.stringContaining('"policy"'),
    });
    // Past the pattern's length bound.
    expect(refused({ drainId: ['d-1'], policy: ['AAAA'.repeat(1025)] })).toMatchObject({
      code: 'InvalidParameters',
    });
  });

  it('holds a value to allowedValues, minChars and maxChars when the document declares them', () => {
    const bounded: DocumentContent = {
      ...document,
      parameters: {
        mode: { type: 'String', allowedValues: ['a', 'b'], default: 'a' },
        note: { type: 'String', minChars: 2, maxChars: 4, default: 'ok' },
      },
    };
    expect(resolveParameters(bounded, {})).toEqual({ mode: 'a', note: 'ok' });
    expect(resolveParameters(bounded, { mode: ['b'], note: ['four'] })).toEqual({ mode: 'b', note: 'four' });
    const bad: Record<string, string[]>[] = [{ mode: ['c'] }, { note: ['x'] }, { note: ['fives'] }];
    for (const given of bad)
      expect(() => resolveParameters(bounded, given)).toThrow(
        expect.objectContaining({ code: 'InvalidParameters' }),
      );
  });

  it('refuses a parameter the document does not declare, and a missing one without a default', () => {
    expect(refused({ drainId: ['d-1'], extra: ['x'] })).toMatchObject({ code: 'InvalidParameters' });
    expect(refused({})).toMatchObject({
      code: 'InvalidParameters',
      message: expect.stringContaining('drainId'),
    });
  });

  it('checks a default against its pattern as it checks a value sent (assumption)', () => {
    const strict: DocumentContent = {
      ...document,
      parameters: { action: { type: 'String', allowedPattern: '^(drain|prepare)$', default: 'plan' } },
    };
    expect(() => resolveParameters(strict, {})).toThrow(
      expect.objectContaining({ code: 'InvalidParameters' }),
    );
  });
});
