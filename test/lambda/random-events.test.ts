// Property: whatever reaches the handler that is not a valid event for the configuration — random values,
// valid envelopes with one field broken, unconfigured groups, non-terminal statuses — is logged and
// ignored: no throw, no AWS call.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambda/config';
import { classifyEvent } from '../../lambda/decide/classify-event';
import {
  type AwsMocks,
  awsCallCount,
  ENV,
  lifecycleEvent,
  makeHandler,
  mockAws,
  statusEvent,
  tickEvent,
} from './helpers';

let aws: AwsMocks;
beforeAll(() => {
  aws = mockAws();
});
afterAll(() => {
  aws.autoScaling.restore();
  aws.ssm.restore();
  aws.events.restore();
});

/** Values that can never pass as the field they replace. */
const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const badText = fc.oneof(
  notAString,
  fc.constant(''),
  fc.string({ maxLength: 20 }).map((text) => `${text} ;$(x)`),
  fc.string({ maxLength: 20 }).map((text) => `zz-not-configured-${text.replace(/[^a-z]/g, '')}`),
);
const badTime = fc.oneof(notAString, fc.string({ maxLength: 30 }), fc.constant('2026-13-45T99:99:99Z'));

const brokenLifecycle = fc
  .tuple(
    fc.constantFrom(
      'LifecycleActionToken',
      'AutoScalingGroupName',
      'LifecycleHookName',
      'EC2InstanceId',
      'LifecycleTransition',
      'time',
      'detail',
    ),
    badText,
    badTime,
  )
  .map(([field, value, time]) => {
    if (field === 'time') return lifecycleEvent({}, time as string);
    if (field === 'detail') return { ...lifecycleEvent(), detail: value };
    return lifecycleEvent({ [field]: value });
  });

const brokenStatus = fc
  .tuple(
    fc.constantFrom('command-id', 'document-name', 'instance-id', 'status', 'detail'),
    fc.oneof(badText, fc.constantFrom('Pending', 'InProgress', 'Delayed', 'Cancelling')),
  )
  .map(([field, value]) =>
    field === 'detail' ? { ...statusEvent(), detail: value } : statusEvent({ [field]: value }),
  );

const brokenTick = badTime.map((time) => ({ ...tickEvent('2026-11-22T10:00:00Z'), time }));

const wrongKind = fc
  .tuple(
    fc.constantFrom(lifecycleEvent(), statusEvent(), tickEvent('2026-11-22T10:00:00Z')),
    fc.oneof(
      fc.string({ maxLength: 20 }),
      notAString,
      fc.constantFrom('aws.ec2', 'aws.autoscaling', 'aws.ssm', 'aws.events'),
    ),
    fc.oneof(
      fc.string({ maxLength: 40 }),
      notAString,
      fc.constantFrom('EC2 Instance-launch Lifecycle Action', 'EC2 Command Status-change Notification'),
    ),
  )
  .map(([event, source, detailType]) => ({ ...event, source, 'detail-type': detailType }))
  // Keep only pairs that are not one of the three kinds the drainer handles.
  .filter((event) => {
    const config = parseConfig(ENV);
    return config.ok && classifyEvent(event, config.config).kind === 'ignored';
  });

const anyValue = fc.anything({
  maxDepth: 3,
  withNullPrototype: true,
  withMap: true,
  withSet: true,
  withBigInt: true,
});

describe('random and malformed events', () => {
  it('10,000 of them: no throw, no AWS call', async () => {
    const { handler } = makeHandler();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyValue, brokenLifecycle, brokenStatus, brokenTick, wrongKind),
        async (event) => {
          const result = await handler(event);
          expect(result.kind).toBe('ignored');
          expect(awsCallCount(aws)).toBe(0);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('the valid events they are made from do reach AWS (the property can fail)', async () => {
    const { handler } = makeHandler();
    await handler(lifecycleEvent());
    expect(awsCallCount(aws)).toBeGreaterThan(0);
  });
});
