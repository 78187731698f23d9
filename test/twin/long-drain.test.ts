// A drain that lasts several heartbeat timeouts is kept alive by the reconciler's heartbeats until it ends.
// The twin's clock runs up to 60× faster, and the handler shares it, so H = 900 s (the template's, its
// floor MIN_HEARTBEAT_TIMEOUT_SECONDS) lasts 15 s of wall time while the Lambda's own bounds (H ≥ 4 ticks of
// ≥ 60 s) stay untouched. The worker finishes its job when the twin's clock says 3.4 × H have passed, however
// slowly that clock really ran: a loaded machine slows the pump, so the wall-time bounds are generous.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteppedClock } from '../../twin/clock';
import { isolationMode } from '../../twin/instances';
import { Twin } from '../../twin/twin';
import { finishedEvents, WorkerLogs } from './helpers';
import { GROUP, synthesizeTemplate } from './real-template';

const logs = new WorkerLogs();
let twin: Twin;

beforeAll(async () => {
  twin = await Twin.start({
    template: synthesizeTemplate(),
    clock: new SteppedClock(1200),
    retryDelaysMs: [60_000, 120_000],
  });
});
afterAll(async () => {
  await twin?.stop();
  logs.remove();
});

describe.runIf(isolationMode() === 'pid-namespace')('a long drain', () => {
  it('is heartbeaten through more than three heartbeat timeouts and completed when the worker exits', {
    timeout: 300_000,
  }, async () => {
    const heartbeatMs = Number(twin.environment.FLEET_DRAINER_HEARTBEAT_TIMEOUT_SECONDS) * 1000;
    const [instanceId] = (await twin.launch(GROUP, 1, logs.heldWorker())) as [string];
    await twin.waitFor(() => logs.ready(instanceId, 1), 'the worker to be ready');
    twin.autoScaling.terminateInstance(instanceId, true);

    await twin.waitFor(
      () => logs.records(instanceId).some((record) => record.event === 'signal'),
      'the TERM',
    );
    const startedMs = twin.autoScaling.activeAction(instanceId)?.startedMs ?? 0;
    await twin.waitFor(
      () => twin.clock.now() >= startedMs + 3.4 * heartbeatMs,
      '3.4 heartbeat timeouts',
      240_000,
    );
    logs.release(instanceId);
    await twin.waitFor(() => finishedEvents(twin.bus.events).length === 1, 'Fleet Drain Finished');

    const [end] = twin.autoScaling.ended;
    expect(end).toMatchObject({ how: 'completed', result: 'CONTINUE' });
    const heldMs = (end?.atMs ?? 0) - (end?.action.startedMs ?? 0);
    expect(heldMs).toBeGreaterThan(3 * heartbeatMs);
    const heartbeats = twin.calls.filter(
      (call) => call.operation === 'RecordLifecycleActionHeartbeat' && !call.errorCode,
    );
    expect(heartbeats.length).toBeGreaterThanOrEqual(3);
    expect(logs.records(instanceId).filter((record) => record.event === 'signal')).toHaveLength(1);
    expect(finishedEvents(twin.bus.events)[0]?.detail).toMatchObject({ outcome: 'drained', instanceId });
  });
});
