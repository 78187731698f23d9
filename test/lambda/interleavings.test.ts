// Property: across several drains, any interleaving of duplicated, reordered and lost events, agent
// progress, reconcile ticks, warm-pool moves (reuse on scale-in, scale-out from the pool, termination from
// the pool in any pool state) and AWS calls failing after the SDK's retries (Lambda retrying the
// invocation) ends with exactly one drain command per lifecycle action, exactly one completion per lifecycle
// action, no completion before the drain command is terminal (unless the outcome is unreachable, skipped or
// expired), and no drain command cancelled while its action is active. Regression guard for stranded or
// cut-short drains. Random seeds: a failure prints its seed and path; FC_SEED and FC_PATH replay it, FC_RUNS
// sets the number of runs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FleetModel, type PoolState } from './fleet-model';
import { EVENT_MS, GROUP, handlerOnClock, tickEvent } from './helpers';

type Step =
  | { kind: 'scaleIn'; instance: number }
  | { kind: 'scaleOut'; instance: number }
  | { kind: 'deliver'; index: number; duplicate: boolean }
  | { kind: 'lose'; index: number }
  | { kind: 'agent'; index: number }
  | { kind: 'tick' }
  | { kind: 'concurrent'; index: number }
  | { kind: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('scaleIn' as const), instance: fc.nat(4) }),
  fc.record({ kind: fc.constant('scaleOut' as const), instance: fc.nat(4) }),
  fc.record({ kind: fc.constant('deliver' as const), index: fc.nat(10), duplicate: fc.boolean() }),
  fc.record({ kind: fc.constant('deliver' as const), index: fc.nat(10), duplicate: fc.boolean() }),
  fc.record({ kind: fc.constant('lose' as const), index: fc.nat(10) }),
  fc.record({ kind: fc.constant('agent' as const), index: fc.nat(10) }),
  fc.record({ kind: fc.constant('tick' as const) }),
  fc.record({ kind: fc.constant('concurrent' as const), index: fc.nat(10) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
);

const INSTANCE_IDS = [
  'i-00000000000000001',
  'i-00000000000000002',
  'i-00000000000000003',
  'i-00000000000000004',
  'i-00000000000000005',
];

interface World {
  /** Instances whose SSM Agent is offline even while they run. */
  unreachable: boolean[];
  /** Scripted throttling (FleetModel.failures). */
  failures?: boolean[];
  /** Instances that go back to the warm pool on scale-in. */
  reuse?: boolean[];
  /** Instances that start in the warm pool instead of in service. */
  pooled?: boolean[];
  poolState?: PoolState;
}

async function run(steps: Step[], world: World) {
  const { unreachable, failures = [], reuse = [], pooled = [], poolState = 'Stopped' } = world;
  const model = new FleetModel(EVENT_MS);
  model.poolState = poolState;
  INSTANCE_IDS.forEach((id, index) => {
    model.instances.set(id, {
      id,
      group: index % 2 === 0 ? GROUP : 'other-asg',
      state: 'InService',
      reachable: !unreachable[index],
      reuse: reuse[index] ?? false,
    });
    if (pooled[index]) model.placeInPool(id);
  });
  const mocks = model.serve();
  model.failures = failures;
  const handler = handlerOnClock(model);
  // Lambda runs an asynchronous invocation that failed twice more, about 1 and 2 minutes later; after that
  // the event is gone (the reconciler must make up for it).
  const invoke = async (event: Record<string, unknown>) => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await handler(event);
        return;
      } catch {
        model.nowMs += 60_000 * (attempt + 1);
      }
    }
  };
  const tick = () => invoke(tickEvent(new Date(model.nowMs).toISOString()));
  // The schedule fires on every whole minute while time passes (late when an invocation ran long: it then
  // carries its scheduled time, as EventBridge's event does).
  let nextTickMs = EVENT_MS + 60_000;
  const advance = async (ms: number) => {
    const targetMs = model.nowMs + ms;
    while (nextTickMs <= targetMs) {
      model.nowMs = Math.max(model.nowMs, nextTickMs);
      await invoke(tickEvent(new Date(nextTickMs).toISOString()));
      nextTickMs += 60_000;
    }
    model.nowMs = Math.max(model.nowMs, targetMs);
  };
  const deliver = async (index: number, duplicate: boolean) => {
    if (model.pending.length === 0) return;
    const at = index % model.pending.length;
    const pending = model.pending[at];
    if (!duplicate) model.pending.splice(at, 1);
    if (pending) await invoke(pending.event);
  };

  try {
    for (const current of steps) {
      switch (current.kind) {
        case 'scaleIn':
          model.scaleIn(INSTANCE_IDS[current.instance] as string);
          break;
        case 'scaleOut':
          model.scaleOut(INSTANCE_IDS[current.instance] as string);
          break;
        case 'deliver':
          await deliver(current.index, current.duplicate);
          break;
        case 'lose':
          if (model.pending.length > 0) model.pending.splice(current.index % model.pending.length, 1);
          break;
        case 'agent': {
          const running = model.commands.filter((command) => command.status === 'InProgress');
          const command = running[current.index % Math.max(1, running.length)];
          if (command) model.agentFinishes(command);
          break;
        }
        case 'tick':
          await tick();
          break;
        case 'concurrent':
          // Two invocations at once (Lambda runs them in parallel environments): an event and a tick.
          await Promise.all([deliver(current.index, false), tick()]);
          break;
        case 'advance':
          await advance(current.ms);
          break;
      }
    }
    // Let the world settle: the throttling passes, remaining events arrive late, agents finish, ticks run.
    model.failures = [];
    for (
      let round = 0;
      round < 20 && (model.actions.some((action) => action.active) || model.pending.length > 0);
      round += 1
    ) {
      while (model.pending.length > 0) await deliver(0, false);
      for (const command of model.commands) model.agentFinishes(command);
      await advance(61_000);
    }
    model.expireActions();
  } finally {
    mocks.autoScaling.restore();
    mocks.ssm.restore();
    mocks.events.restore();
  }
  return model;
}

/** The invariants every run must keep. */
function expectInvariants(model: FleetModel, failures: readonly boolean[]): void {
  for (const action of model.actions) {
    const label = `${action.instanceId} (${action.origin}, event at +${action.eventTimeMs - EVENT_MS} ms)`;
    // Timing out after H is only excusable when AWS calls kept failing (lost ticks and events).
    if (action.timedOut) {
      expect(failures.some(Boolean), `timed out without failures: ${label}`).toBe(true);
      continue;
    }
    expect(action.completions, `completions of ${label}`).toBe(1);
    expect(model.commandsOf(action).length, `commands of ${label}`).toBeLessThanOrEqual(1);
    const finished = action.finished;
    expect(finished, `Fleet Drain Finished of ${label}`).toHaveLength(1);
    const outcome = finished[0]?.outcome;
    if (!action.commandTerminalAtCompletion) {
      expect(['unreachable', 'skipped', 'expired'], `completed early: ${label}`).toContain(outcome);
    }
    if (outcome === 'drained') expect(model.commandsOf(action)).toHaveLength(1);
    // Reachability when the action started, not at the end of the run: a later life of the instance (back
    // in a stopped pool) says nothing of this one.
    if (!action.reachable)
      expect(model.commandsOf(action), `sent to a stopped host: ${label}`).toHaveLength(0);
    // A running host (a running warm pool's included) is drained, never skipped.
    else expect(outcome, `skipped a running host: ${label}`).not.toBe('skipped');
  }
  expect(
    model.cancelledWhileActive.map((command) => command.params.drainId),
    'drain commands cancelled while their action was active',
  ).toEqual([]);
}

const replay =
  process.env.FC_SEED === undefined
    ? {}
    : { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH, endOnFailure: true };

describe('interleavings of duplicated, reordered and lost events', () => {
  it('end with one command and one completion per lifecycle action, never completed early', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        // Throttling that outlasts the SDK's retries hits about one call in eight, in bursts.
        fc.array(
          fc.integer({ min: 0, max: 7 }).map((roll) => roll === 0),
          { minLength: 0, maxLength: 40 },
        ),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.constantFrom<PoolState>('Stopped', 'Running', 'Hibernated'),
        async (steps, unreachable, failures, reuse, pooled, poolState) => {
          const model = await run(steps, { unreachable, failures, reuse, pooled, poolState });
          expectInvariants(model, failures);
        },
      ),
      // Random seeds: a failure prints `{ seed, path }` (replay with FC_SEED and FC_PATH).
      { numRuns: Number(process.env.FC_RUNS ?? 150), ...replay },
    );
  });

  it('seed 1650871304, path "147:7:8:8:8:8:11:12:12:12:17:17:17:17:17:17": a reused instance terminated from the pool at its first life’s timestamp', async () => {
    // The counterexample the fixed-seed property once carried. A reused instance is drained and completed,
    // then terminated again at the same timestamp. The code was right; the fleet model was not: it put the
    // instance straight back in service, terminated it from there with Origin WarmPool (AWS terminates from
    // the pool only an instance waiting in it), and judged the first life's drain by the instance's state at
    // the end of the run (stopped in the pool), as if it had been sent to a stopped host.
    const model = await run(
      [
        { kind: 'scaleIn', instance: 4 },
        { kind: 'deliver', index: 0, duplicate: false },
        { kind: 'agent', index: 0 },
        { kind: 'concurrent', index: 0 },
        { kind: 'scaleIn', instance: 4 },
        { kind: 'deliver', index: 0, duplicate: false },
      ],
      { unreachable: [false, false, false, false, false], reuse: [false, false, false, false, true] },
    );
    expectInvariants(model, []);
    const [first, second] = model.actions;
    expect(first).toMatchObject({ origin: 'AutoScalingGroup', reachable: true, eventTimeMs: EVENT_MS });
    expect(second).toMatchObject({ origin: 'WarmPool', reachable: false, eventTimeMs: EVENT_MS });
    expect(model.commandsOf(first as never)).toHaveLength(1);
    expect(model.commandsOf(second as never)).toHaveLength(0);
    expect(model.finishedEvents.map((event) => event.outcome)).toEqual(['drained', 'skipped']);
  });

  it.each<PoolState>(['Stopped', 'Running', 'Hibernated'])(
    'a reused instance drains in Warmed:Pending:Wait past several ticks, goes into a %s pool, and is terminated from there',
    async (poolState) => {
      const model = await run(
        [
          { kind: 'scaleIn', instance: 0 },
          { kind: 'deliver', index: 0, duplicate: false },
          { kind: 'advance', ms: 120_000 },
          { kind: 'advance', ms: 120_000 },
          { kind: 'agent', index: 0 },
          { kind: 'deliver', index: 0, duplicate: false },
          { kind: 'scaleIn', instance: 0 },
          { kind: 'deliver', index: 0, duplicate: false },
        ],
        { unreachable: [false, false, false, false, false], reuse: [true], poolState },
      );
      expectInvariants(model, []);
      expect(model.actions.map((action) => action.finished[0]?.outcome)).toEqual([
        'drained',
        poolState === 'Running' ? 'drained' : 'skipped',
      ]);
    },
  );

  it('the invariants can fail: a run where the agent never finishes leaves no premature completion', async () => {
    // Guard against a vacuous property: a drain that is started and then ticked shows a command, and is
    // completed only after the agent finished it.
    const model = await run(
      [
        { kind: 'scaleIn', instance: 0 },
        { kind: 'deliver', index: 0, duplicate: true },
        { kind: 'deliver', index: 0, duplicate: false },
        { kind: 'tick' },
      ],
      { unreachable: [false, false, false, false, false] },
    );
    expect(model.commands).toHaveLength(1);
    expect(model.actions[0]?.completions).toBe(1);
    expect(model.actions[0]?.commandTerminalAtCompletion).toBe(true);
    expect(model.finishedEvents[0]?.outcome).toBe('drained');
  });
});
