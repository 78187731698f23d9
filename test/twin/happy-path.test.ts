// End to end on the wall clock: the real Lambda entry point, the real synthesized template and document,
// the real agent, real workers in PID namespaces. A scale-in drains every instance and completes each action,
// through throttled completions.

import { AutoScalingClient, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolationMode } from '../../twin/instances';
import { Twin } from '../../twin/twin';
import { finishedEvents, WorkerLogs } from './helpers';
import { GROUP, synthesizeTemplate } from './real-template';

const logs = new WorkerLogs();
let twin: Twin;

beforeAll(async () => {
  twin = await Twin.start({ template: synthesizeTemplate() });
});
afterAll(async () => {
  await twin?.stop();
  logs.remove();
});

describe.runIf(isolationMode() === 'pid-namespace')('a scale-in through the twin', () => {
  it('drains each instance once, completes its action with CONTINUE, and terminates it', async () => {
    const instances = await twin.launch(GROUP, 2, logs.workers(2, 300));
    await twin.waitFor(() => instances.every((id) => logs.ready(id, 2)), 'the workers to be ready');
    const client = new AutoScalingClient({
      endpoint: twin.url,
      region: 'us-west-2',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    // Throttled completions are retried by the SDK: no drain is lost to them.
    twin.faults.throttle('autoscaling', 'CompleteLifecycleAction', 3);
    await client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: GROUP, DesiredCapacity: 0 }));
    client.destroy();

    await twin.waitFor(
      () => finishedEvents(twin.bus.events).length === 2,
      'two Fleet Drain Finished events',
      25_000,
    );
    await twin.waitFor(
      () =>
        instances.every((id) =>
          twin.states.some((s) => s.instanceId === id && s.lifecycleState === 'Terminated'),
        ),
      'both instances terminated',
    );

    for (const instanceId of instances) {
      const records = logs.records(instanceId);
      const signals = records.filter((record) => record.event === 'signal');
      expect(signals.map((record) => record.signal)).toEqual(['SIGTERM', 'SIGTERM']);
      expect(new Set(signals.map((record) => record.pid)).size).toBe(2);
      expect(records.filter((record) => record.event === 'exit')).toHaveLength(2);
      const ended = twin.autoScaling.ended.filter((end) => end.action.instanceId === instanceId);
      expect(ended).toMatchObject([{ how: 'completed', result: 'CONTINUE' }]);
      expect(twin.hosts.has(instanceId)).toBe(false);
    }
    expect(twin.calls.filter((call) => call.errorCode === 'Throttling')).toHaveLength(3);
    for (const event of finishedEvents(twin.bus.events)) {
      expect(event.detail).toMatchObject({ outcome: 'drained', lifecycleActionResult: 'CONTINUE' });
    }
  });
});
