// The real handler against injected faults, on a clock 30× faster than the wall: a duplicated lifecycle event
// with a crash after the handler ran, a lost status event, an instance without an agent and one that vanishes
// mid-drain. (Throttling is in the wall-clock test: the SDK's backoff is not sped up, so here it would eat
// into a 10-second heartbeat timeout that AWS gives 300 seconds.) Every action still ends completed, and no
// worker is ever signalled twice.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteppedClock } from '../../twin/clock';
import type { BusEvent } from '../../twin/event-envelope';
import { isolationMode } from '../../twin/instances';
import { Twin } from '../../twin/twin';
import { finishedEvents, WorkerLogs } from './helpers';
import { GROUP, synthesizeTemplate } from './real-template';

const logs = new WorkerLogs();
let twin: Twin;

beforeAll(async () => {
  twin = await Twin.start({
    template: synthesizeTemplate(),
    clock: new SteppedClock(600),
    retryDelaysMs: [60_000, 120_000],
    // A short deadline and no grace, so the vanished instance's drain expires within the test.
    environment: { FLEET_DRAINER_MAX_DRAIN_SECONDS: '300', FLEET_DRAINER_EXPIRY_GRACE_SECONDS: '0' },
  });
});
afterAll(async () => {
  await twin?.stop();
  logs.remove();
});

const about = (instanceId: string | undefined) => (event: BusEvent) =>
  event.detail.EC2InstanceId === instanceId || event.detail['instance-id'] === instanceId;

describe.runIf(isolationMode() === 'pid-namespace')('faults', () => {
  it('never strands an instance and never signals a worker twice', { timeout: 90_000 }, async () => {
    const [duplicated] = await twin.launch(GROUP, 1, logs.workers(2, 300));
    const [lost] = await twin.launch(GROUP, 1, logs.workers(1, 300));
    const [offline] = await twin.launch(GROUP, 1, logs.workers(1, 300));
    const [vanishing] = await twin.launch(GROUP, 1, logs.heldWorker());
    twin.injectEventFault({
      kind: 'duplicate',
      match: (e) => about(duplicated)(e) && e.source === 'aws.autoscaling',
    });
    twin.injectEventFault({
      kind: 'crash-after',
      match: (e) => about(duplicated)(e) && e.detail.status === 'Success',
    });
    twin.injectEventFault({ kind: 'drop', match: (e) => about(lost)(e) && e.detail.status === 'Success' });
    twin.setAgentOnline(offline as string, false);
    twin.autoScaling.setDesiredCapacity(GROUP, 0);

    await twin.waitFor(
      () =>
        twin.commands
          .all()
          .some(
            (c) =>
              c.instanceIds.includes(vanishing as string) &&
              c.invocations.get(vanishing as string)?.status === 'InProgress',
          ),
      'the vanishing instance to start draining',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    twin.vanish(vanishing as string);

    await twin.waitFor(
      () => finishedEvents(twin.bus.events).length >= 4,
      'four Fleet Drain Finished events',
      60_000,
    );
    const outcome = (id: string | undefined) =>
      finishedEvents(twin.bus.events).find((e) => e.detail.instanceId === id)?.detail.outcome;
    expect(outcome(duplicated)).toBe('drained');
    expect(outcome(lost)).toBe('drained');
    expect(outcome(offline)).toBe('unreachable');
    // Found gone by its agent's silence, or expired past its deadline: either way completed explicitly.
    expect(['unreachable', 'expired']).toContain(outcome(vanishing));

    for (const id of [duplicated, lost, offline, vanishing]) {
      expect(twin.autoScaling.ended.filter((end) => end.action.instanceId === id)).toMatchObject([
        { how: 'completed', result: 'CONTINUE' },
      ]);
    }
    for (const id of [duplicated, lost, vanishing]) {
      const signals = logs.records(id as string).filter((record) => record.event === 'signal');
      expect(new Set(signals.map((record) => record.pid)).size).toBe(signals.length);
    }
    expect(logs.records(offline as string).filter((record) => record.event === 'signal')).toHaveLength(0);
  });
});
