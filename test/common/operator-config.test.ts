// The stack output the operator commands read: the drainer's names, and the Lambda's timing when present.

import { describe, expect, it } from 'vitest';
import { parseOperatorConfig } from '../../common/operator-config';

const BASE = { v: 1, document: 'FleetDrain-Doc', hook: 'fleet-drainer-hook', groups: ['web', 'jobs'] };
const TIMING = {
  maxDrainSeconds: 3600,
  heartbeatTimeoutSeconds: 1800,
  tickPeriodSeconds: 60,
  expiryGraceSeconds: 300,
  adoptionDelaySeconds: 45,
};

describe('parseOperatorConfig', () => {
  it('reads the names and the timing', () => {
    expect(parseOperatorConfig(JSON.stringify({ ...BASE, timing: TIMING }))).toEqual({
      ...BASE,
      timing: TIMING,
    });
  });

  it('reads an output without timing, and leaves out a timing it cannot read whole', () => {
    expect(parseOperatorConfig(JSON.stringify(BASE))).toEqual(BASE);
    const partial = { ...TIMING, tickPeriodSeconds: '60' };
    expect(parseOperatorConfig(JSON.stringify({ ...BASE, timing: partial }))).toEqual(BASE);
  });

  it('names another version, and a missing field', () => {
    expect(() => parseOperatorConfig(JSON.stringify({ ...BASE, v: 2 }))).toThrow(
      "the stack's fleet-drainer output is version 2, this command reads version 1",
    );
    expect(() => parseOperatorConfig(JSON.stringify({ ...BASE, groups: [] as string[], hook: '' }))).toThrow(
      'lacks document, hook or groups',
    );
  });
});
