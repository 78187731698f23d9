// What the scale bench relies on in the twin: token-bucket rate limits, the function's concurrency with one
// execution environment per concurrent invocation, and virtual instances whose runs the caller simulates.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../twin/clock';
import type { RunResult } from '../../twin/commands';
import { EventBus } from '../../twin/event-bus';
import type { BusEvent } from '../../twin/event-envelope';
import { ApiFaults } from '../../twin/faults';
import { TokenBucket } from '../../twin/rate-limit';
import { Timeline } from '../../twin/timeline';
import { Twin } from '../../twin/twin';
import { fixtureTemplate, LIFECYCLE_PATTERN } from './fixture-template';

let twin: Twin | undefined;
afterEach(async () => {
  await twin?.stop();
  twin = undefined;
});

describe('rate limits', () => {
  it('a token bucket allows its burst, then refills at its rate, never above its size', () => {
    const bucket = new TokenBucket({ burst: 3, perSecond: 2 });
    const at = (ms: number, times: number) => Array.from({ length: times }, () => bucket.take(ms));
    expect(at(0, 4)).toEqual([true, true, true, false]);
    expect(at(499, 1)).toEqual([false]);
    expect(at(500, 2)).toEqual([true, false]);
    expect(at(60_000, 4)).toEqual([true, true, true, false]);
  });

  it('refuses a bucket that could never give a token', () => {
    expect(() => new TokenBucket({ burst: 0, perSecond: 1 })).toThrow(/burst ≥ 1/);
    expect(() => new TokenBucket({ burst: 5, perSecond: 0 })).toThrow(/perSecond > 0/);
  });

  it('throttles Auto Scaling on one shared bucket and SSM per operation, as each service answers it', () => {
    const faults = new ApiFaults();
    faults.limitRate('autoscaling', { burst: 1, perSecond: 1 });
    faults.limitRate('ssm', { burst: 1, perSecond: 1 }, 'ListCommands');
    expect(faults.take('autoscaling', 'RecordLifecycleActionHeartbeat', 0)).toBeUndefined();
    expect(faults.take('autoscaling', 'CompleteLifecycleAction', 0)).toMatchObject({
      code: 'Throttling',
      message: 'Rate exceeded',
      status: 400,
    });
    expect(faults.take('ssm', 'ListCommands', 0)).toBeUndefined();
    expect(faults.take('ssm', 'ListCommands', 0)).toMatchObject({ code: 'ThrottlingException' });
    expect(faults.take('ssm', 'SendCommand', 0)).toBeUndefined();
    expect(faults.take('autoscaling', 'CompleteLifecycleAction', 1000)).toBeUndefined();
  });
});

describe('the function and virtual instances', () => {
  it('runs at most `concurrency` invocations at once; the rest wait in order, as Lambda queues them', async () => {
    const clock = new ManualClock(Date.now());
    const timeline = new Timeline(clock);
    const running: { id: string; end: () => void }[] = [];
    const rule = {
      logicalId: 'All',
      arn: 'arn:aws:events:us-west-2:123456789012:rule/all',
      eventPattern: { source: ['test'] },
      schedulePeriodMs: undefined,
      enabled: true,
      targetsFunction: true,
      queueIds: [],
    };
    const bus = new EventBus(
      [rule],
      (event) =>
        new Promise((resolve) => running.push({ id: (event as BusEvent).id, end: () => resolve(undefined) })),
      clock,
      timeline,
      { retryAttempts: 0, retryDelaysMs: [], concurrency: 2 },
    );
    for (const id of ['a', 'b', 'c', 'd'])
      bus.publish({ id, source: 'test', 'detail-type': 'x', detail: {} } as unknown as BusEvent);
    timeline.pump();
    expect(running.map((r) => r.id)).toEqual(['a', 'b']);
    running[0]?.end();
    await vi.waitFor(() => expect(running.map((r) => r.id)).toEqual(['a', 'b', 'c']));
    clock.advance(5000);
    running[1]?.end();
    await vi.waitFor(() => expect(running.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']));
    const d = bus.invocations.find((i) => i.event.id === 'd');
    expect((d?.startedMs ?? 0) - (d?.queuedMs ?? 0)).toBe(5000);
  });

  it('hands a virtual instance’s command to virtualRun and reports its result as SSM does', async () => {
    const clock = new ManualClock(Date.now());
    const runs: { instanceId: string; done: (result: RunResult) => void }[] = [];
    twin = await Twin.start({
      template: fixtureTemplate(LIFECYCLE_PATTERN, ['true']),
      clock,
      handler: 'none',
      virtualRun: (_command, instanceId, done) => {
        runs.push({ instanceId, done });
        return { kill: () => done({ exitCode: 143, stdout: '', stderr: 'killed' }) };
      },
    });
    const [instanceId] = twin.addVirtualInstances('web', 1) as [string];
    expect(twin.agents.describe([instanceId], clock.now())).toMatchObject([{ pingStatus: 'Online' }]);
    const command = twin.commands.sendCommand({
      DocumentName: 'FleetDrain-us-west-2',
      InstanceIds: [instanceId],
      Parameters: { drainId: ['abc'] },
    });
    await twin.waitFor(() => runs.length === 1, 'the virtual run', 5000);
    expect(runs[0]?.instanceId).toBe(instanceId);
    runs[0]?.done({ exitCode: 0, stdout: '{"report":1}\n', stderr: '' });
    clock.advance(1000);
    expect(twin.commands.getInvocation(command.commandId, instanceId).invocation).toMatchObject({
      status: 'Success',
      stdout: '{"report":1}\n',
      responseCode: 0,
    });
  });

  it('refuses virtual instances without virtualRun', async () => {
    twin = await Twin.start({
      template: fixtureTemplate(LIFECYCLE_PATTERN, ['true']),
      clock: new ManualClock(Date.now()),
      handler: 'none',
    });
    expect(() => twin?.addVirtualInstances('web', 1)).toThrow(/virtualRun/);
  });
});
