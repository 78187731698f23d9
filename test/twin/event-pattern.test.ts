// EventBridge pattern matching as the rules use it, including the ways a wrong pattern silently misses.

import { describe, expect, it } from 'vitest';
import { lifecycleActionEvent } from '../../twin/event-envelope';
import { InvalidPatternError, matchesPattern } from '../../twin/event-pattern';

const event = lifecycleActionEvent(
  {
    token: '87654321-4321-4321-4321-210987654321',
    groupName: 'web',
    hookName: 'drain',
    instanceId: 'i-1234567890abcdef0',
  },
  undefined,
  Date.parse('2026-11-22T10:00:00Z'),
);

describe('matchesPattern', () => {
  it('matches exact values, with an array as OR, nested under detail', () => {
    expect(
      matchesPattern(
        { source: ['aws.autoscaling'], detail: { AutoScalingGroupName: ['api', 'web'] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern({ source: ['aws.autoscaling'], detail: { AutoScalingGroupName: ['api'] } }, event),
    ).toBe(false);
  });

  it('misses on a wrong key or a wrong case, as EventBridge does', () => {
    expect(matchesPattern({ detailType: ['EC2 Instance-terminate Lifecycle Action'] }, event)).toBe(false);
    expect(matchesPattern({ 'detail-type': ['EC2 Instance-Terminate Lifecycle Action'] }, event)).toBe(false);
    expect(matchesPattern({ detail: { EC2InstanceId: ['i-1234567890abcdef0'] } }, event)).toBe(true);
  });

  it('supports prefix, suffix, anything-but, exists, equals-ignore-case and numeric', () => {
    expect(matchesPattern({ detail: { EC2InstanceId: [{ prefix: 'i-12' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { LifecycleHookName: [{ suffix: 'ain' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { Origin: [{ 'anything-but': 'WarmPool' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { Origin: [{ 'anything-but': { prefix: 'Auto' } }] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { NotificationMetadata: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { Destination: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { Destination: [{ 'equals-ignore-case': 'ec2' }] } }, event)).toBe(true);
    expect(matchesPattern({ n: [{ numeric: ['>', 1, '<=', 3] }] }, { n: 3 })).toBe(true);
    expect(matchesPattern({ n: [{ numeric: ['>', 3] }] }, { n: 3 })).toBe(false);
  });

  it('matches when any element of an array value matches', () => {
    expect(matchesPattern({ resources: [{ suffix: '/web' }] }, event)).toBe(true);
  });

  it('refuses a pattern EventBridge would reject', () => {
    expect(() => matchesPattern({ source: 'aws.autoscaling' }, event)).toThrow(InvalidPatternError);
    expect(() => matchesPattern({ source: [{ regex: '.*' }] }, event)).toThrow(InvalidPatternError);
  });
});

describe('lifecycleActionEvent', () => {
  it('says Origin AutoScalingGroup / Destination EC2 for a scale-in, and the route of a warm-pool move', () => {
    expect(event.detail).toMatchObject({ Origin: 'AutoScalingGroup', Destination: 'EC2' });
    const fromPool = lifecycleActionEvent(
      {
        token: '87654321-4321-4321-4321-210987654321',
        groupName: 'web',
        hookName: 'drain',
        instanceId: 'i-1234567890abcdef0',
        route: { origin: 'WarmPool', destination: 'EC2' },
      },
      undefined,
      Date.parse('2026-11-22T10:00:00Z'),
    );
    expect(fromPool.detail).toMatchObject({ Origin: 'WarmPool', Destination: 'EC2' });
  });
});
