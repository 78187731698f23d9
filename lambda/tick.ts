// One scheduled tick: reconcile the drains, adopt the instances that wait without one, then report.
// Adoption comes last: it waits out the adoption delay, and every heartbeat must go out before that.

import type { Deps } from './aws/ports';
import type { DrainerConfig } from './config';
import type { TickWork } from './decide/classify-event';
import { adoptInstances } from './workflows/adopt-instances';
import {
  finishTick,
  queuedEvents,
  RECONCILE_CONCURRENCY,
  reconcile,
  type TickContext,
  type TickSummary,
} from './workflows/reconcile';

/** Runs one tick; throws only when a heartbeat failed (Lambda retries the tick with the same time). */
export async function runTick(deps: Deps, config: DrainerConfig, tick: TickWork): Promise<TickSummary> {
  const ctx = await reconcile(deps, config, tick);
  await adoptUnlessEventsQueued(ctx);
  return finishTick(ctx);
}

/** Lifecycle events waiting in the queue are not lost: while some wait, adopting would race their starts. */
async function adoptUnlessEventsQueued(ctx: TickContext): Promise<void> {
  const { deps, config, summary } = ctx;
  const queued = await queuedEvents(ctx, 'lifecycle');
  summary.queuedLifecycleEvents = queued ?? null;
  const eventsWait = queued !== undefined && queued > 0;
  if (eventsWait && ctx.candidates.length > 0) {
    deps.log.info('lifecycle events are queued; adopting nothing this tick', {
      queuedLifecycleEvents: queued,
      candidates: ctx.candidates.length,
    });
  }
  const adoption = await adoptInstances(deps, config, {
    candidates: eventsWait ? [] : ctx.candidates,
    historyStartMs: ctx.historyStartMs,
    tickMs: ctx.tickMs,
    concurrency: RECONCILE_CONCURRENCY,
    eventsQueued: async () => ((await queuedEvents(ctx, 'lifecycle')) ?? 0) > 0,
  });
  summary.adopted = adoption.adopted;
  summary.heartbeats += adoption.heartbeats;
  for (const { item, error, heartbeat } of adoption.failures) {
    ctx.failures.push({
      error,
      keys: { instanceId: item.instanceId, autoScalingGroupName: item.groupName },
      heartbeat,
    });
  }
}
