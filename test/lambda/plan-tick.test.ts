// planTick, the reconciler's pure decisions, on cases that are awkward to set up through the handler.

import { describe, expect, it } from 'vitest';
import type { InstanceState } from '../../lambda/aws/ports';
import { parseConfig } from '../../lambda/config';
import type { DrainCommand } from '../../lambda/decide/drain-command';
import { drainLifetimeMs, planTick } from '../../lambda/decide/plan-tick';
import { ENV, EVENT_MS, FIRST_DUE_TICK_MS, GROUP, HOOK, INSTANCE, TOKEN } from './helpers';

const parsed = parseConfig(ENV);
if (!parsed.ok) throw new Error('test configuration is invalid');
const config = parsed.config;

function drain(
  overrides: Partial<DrainCommand> & { drainId?: string; instanceId?: string } = {},
): DrainCommand {
  const { drainId = TOKEN, instanceId = INSTANCE, ...rest } = overrides;
  return {
    commandId: `c-${drainId}-${rest.requestedMs ?? EVENT_MS}`,
    requestedMs: EVENT_MS,
    status: 'InProgress',
    params: {
      drainId,
      deadline: '2026-11-22T10:30:00Z',
      instanceId,
      autoScalingGroupName: GROUP,
      lifecycleHookName: HOOK,
    },
    ...rest,
  };
}

const waiting: InstanceState = { instanceId: INSTANCE, groupName: GROUP, lifecycleState: 'Terminating:Wait' };
/** The first tick of the drain's second heartbeat slot (slots count from the action's start, EVENT_MS). */
const tickAfterHalf = FIRST_DUE_TICK_MS;

describe('planTick', () => {
  it('finishes only the newest drain of an instance (an older one belongs to an earlier life)', () => {
    const old = drain({
      drainId: `adopted-${INSTANCE}`,
      status: 'Success',
      requestedMs: EVENT_MS - 600_000, // within drainLifetimeMs, older than the newest drain
    });
    const current = drain({ status: 'Success', requestedMs: EVENT_MS });
    const plan = planTick({
      commands: [old, current],
      instances: [waiting],
      nowMs: EVENT_MS + 60_000,
      tickMs: EVENT_MS + 60_000,
      config,
    });
    expect(plan.finish).toEqual([current]);
  });

  it('heartbeats the newest drain and leaves a finished older one alone', () => {
    const old = drain({
      drainId: `adopted-${INSTANCE}`,
      status: 'Success',
      requestedMs: EVENT_MS - 600_000, // within drainLifetimeMs, older than the newest drain
    });
    const current = drain({ requestedMs: EVENT_MS });
    const plan = planTick({
      commands: [old, current],
      instances: [waiting],
      nowMs: tickAfterHalf,
      tickMs: tickAfterHalf,
      config,
    });
    expect(plan.heartbeat).toEqual([current]);
    expect(plan.finish).toEqual([]);
  });

  it('neither heartbeats nor expires a running drain that is not the instance’s newest', () => {
    const old = drain({ drainId: `adopted-${INSTANCE}`, requestedMs: EVENT_MS - 2400_000 });
    old.params = { ...old.params, deadline: '2026-11-22T09:00:00Z' };
    const current = drain({ requestedMs: EVENT_MS });
    const nowMs = EVENT_MS + 60_000;
    const plan = planTick({ commands: [old, current], instances: [waiting], nowMs, tickMs: nowMs, config });
    expect(plan.expire).toEqual([]);
    expect(plan.heartbeat).toEqual([]);
    expect(plan.cancel).toEqual([]);
  });

  it('ignores finished commands older than any action can live: they neither block adoption nor get finished', () => {
    const stale = drain({ status: 'Success', requestedMs: EVENT_MS });
    const nowMs = EVENT_MS + drainLifetimeMs(config) + 1000;
    const plan = planTick({ commands: [stale], instances: [waiting], nowMs, tickMs: nowMs, config });
    expect(plan.finish).toEqual([]);
    expect(plan.adopt).toEqual([waiting]);
  });

  it('keeps a finished command within that lifetime as the instance’s drain', () => {
    const recent = drain({ status: 'Success', requestedMs: EVENT_MS });
    const nowMs = EVENT_MS + drainLifetimeMs(config) - 1000;
    const plan = planTick({ commands: [recent], instances: [waiting], nowMs, tickMs: nowMs, config });
    expect(plan.finish).toEqual([recent]);
    expect(plan.adopt).toEqual([]);
  });

  it('ignores commands of other groups and hooks', () => {
    const foreign = drain();
    foreign.params = { ...foreign.params, lifecycleHookName: 'other-hook' };
    const plan = planTick({
      commands: [foreign],
      instances: [waiting],
      nowMs: tickAfterHalf,
      tickMs: tickAfterHalf,
      config,
    });
    expect(plan.heartbeat).toEqual([]);
    expect(plan.adopt).toEqual([waiting]);
  });

  it('does not treat an instance of the same id in another group as this drain’s instance', () => {
    const plan = planTick({
      commands: [drain({ requestedMs: EVENT_MS })],
      instances: [{ ...waiting, groupName: 'other-asg' }],
      nowMs: EVENT_MS + 600_000,
      tickMs: EVENT_MS + 600_000,
      config,
    });
    expect(plan.cancel).toHaveLength(1);
  });
});

describe('planTick at fleet scale: phased heartbeats', () => {
  // H = 3,000 s (a FleetDrainer for 10,000 drains at once), maximum drain one hour.
  const scaled = parseConfig({
    ...ENV,
    FLEET_DRAINER_HEARTBEAT_TIMEOUT_SECONDS: '3000',
    FLEET_DRAINER_MAX_DRAIN_SECONDS: '3600',
  });
  if (!scaled.ok) throw new Error('scaled configuration is invalid');
  const fleetConfig = scaled.config;
  const ids = Array.from({ length: 2000 }, (_, index) => `i-${index.toString(16).padStart(17, '0')}`);
  const token = (index: number) => `${index.toString(16).padStart(8, '0')}-4321-4321-4321-210987654321`;
  const commands = (status: string) =>
    ids.map((instanceId, index) => {
      const command = drain({ instanceId, drainId: token(index), status, requestedMs: EVENT_MS + 1000 });
      // The deadline the start gives it: event time + the maximum drain time.
      const params = { ...command.params, deadline: '2026-11-22T11:00:00Z' };
      return { ...command, commandId: `c-${index}`, params };
    });
  const waitingAll = ids.map((instanceId) => ({
    instanceId,
    groupName: GROUP,
    lifecycleState: 'Terminating:Wait',
  }));
  const perTick = (status: string) => {
    const counts: number[] = [];
    for (let tickMs = EVENT_MS + 60_000; tickMs <= EVENT_MS + 1800_000; tickMs += 60_000) {
      const plan = planTick({
        commands: commands(status),
        instances: waitingAll,
        nowMs: tickMs,
        tickMs,
        config: fleetConfig,
      });
      counts.push(plan.heartbeat.length + plan.finishDue.length);
    }
    return counts;
  };

  it('spreads the first heartbeats of drains started in the same minute over many ticks', () => {
    const counts = perTick('InProgress');
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(ids.length);
    expect(Math.max(...counts)).toBeLessThan(ids.length / 5);
  });

  it('keeps the phases of finished drains too: a drain that ends never moves its next heartbeat later', () => {
    const running = perTick('InProgress');
    const finished = perTick('Success');
    expect(finished).toEqual(running);
    // Phases within S − H/3: none before the 17th minute (H/3 = 1,000 s), all by the 24th (S = 1,410 s).
    expect(running.slice(0, 16).every((count) => count === 0)).toBe(true);
    expect(running.slice(0, 24).reduce((sum, count) => sum + count, 0)).toBe(ids.length);
  });
});
