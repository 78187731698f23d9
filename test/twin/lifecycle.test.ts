// The Auto Scaling model's lifecycle actions on a manual clock: heartbeat timeout, global timeout, default
// result, heartbeats that restart the timeout, and the documented errors.

import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../twin/clock';
import { AutoScalingModel, type LifecycleAction } from '../../twin/lifecycle';

const H = 60_000;
let clock: ManualClock;
let model: AutoScalingModel;
let started: LifecycleAction[];

function setUp(defaultResult: 'CONTINUE' | 'ABANDON' = 'CONTINUE', terminationMs = 1000) {
  clock = new ManualClock();
  started = [];
  model = new AutoScalingModel(
    clock,
    { actionStarted: (action) => started.push(action), instanceState: () => {} },
    terminationMs,
  );
  model.createGroup('web', [{ name: 'drain', heartbeatTimeoutMs: H, defaultResult }]);
  model.addInstance('web', 'i-00000000000000001');
  model.addInstance('web', 'i-00000000000000002');
}

const state = (id: string) => model.describeInstances([id])[0]?.lifecycleState;
const ref = { groupName: 'web', hookName: 'drain' };

beforeEach(() => setUp());

describe('terminate lifecycle actions', () => {
  it('holds a scaled-in instance in Terminating:Wait, then Proceed, then Terminated after completion', () => {
    model.setDesiredCapacity('web', 1);
    const [action] = started;
    expect(action?.instanceId).toBe('i-00000000000000001');
    expect(action?.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(state('i-00000000000000001')).toBe('Terminating:Wait');
    model.completeAction({ ...ref, token: action?.token }, 'CONTINUE');
    expect(state('i-00000000000000001')).toBe('Terminating:Proceed');
    clock.advance(1000);
    model.advance();
    expect(state('i-00000000000000001')).toBeUndefined();
    expect(model.describeGroups(['web'])[0]?.desiredCapacity).toBe(1);
  });

  it('applies the default result when the heartbeat timeout passes', () => {
    setUp('ABANDON');
    model.terminateInstance('i-00000000000000002', true);
    clock.advance(H - 1);
    model.advance();
    expect(state('i-00000000000000002')).toBe('Terminating:Wait');
    clock.advance(1);
    model.advance();
    expect(model.ended).toMatchObject([{ how: 'heartbeat-timeout', result: 'ABANDON' }]);
    expect(state('i-00000000000000002')).toBe('Terminating:Proceed');
  });

  it('restarts the timeout on each heartbeat (it does not add to what remains), up to min(48 h, 100 × H)', () => {
    model.terminateInstance('i-00000000000000001', false);
    for (let beat = 0; beat < 250; beat += 1) {
      clock.advance(H / 2);
      model.advance();
      if (model.ended.length > 0) break;
      model.recordHeartbeat({ ...ref, instanceId: 'i-00000000000000001' });
    }
    expect(model.ended).toMatchObject([{ how: 'global-timeout', result: 'CONTINUE' }]);
    const [end] = model.ended;
    expect((end?.atMs ?? 0) - (end?.action.startedMs ?? 0)).toBe(100 * H);
  });

  it('times out H after the last heartbeat, not H after the previous deadline', () => {
    model.terminateInstance('i-00000000000000001', false);
    clock.advance(H / 2);
    model.recordHeartbeat({ ...ref, instanceId: 'i-00000000000000001' });
    clock.advance(H - 1);
    model.advance();
    expect(model.ended).toHaveLength(0);
    clock.advance(1);
    model.advance();
    expect(model.ended).toMatchObject([{ how: 'heartbeat-timeout' }]);
  });

  it('caps the global timeout at 48 hours', () => {
    clock = new ManualClock();
    model = new AutoScalingModel(clock, {
      actionStarted: (a) => started.push(a),
      instanceState: () => {},
    });
    model.createGroup('big', [{ name: 'drain', heartbeatTimeoutMs: 7200_000, defaultResult: 'CONTINUE' }]);
    model.addInstance('big', 'i-00000000000000009');
    model.terminateInstance('i-00000000000000009', false);
    const action = model.activeAction('i-00000000000000009');
    expect((action?.globalDeadlineMs ?? 0) - (action?.startedMs ?? 0)).toBe(48 * 3600_000);
  });

  it('answers the documented ValidationErrors once the action is over', () => {
    model.terminateInstance('i-00000000000000001', false);
    const token = started[0]?.token as string;
    model.completeAction({ ...ref, instanceId: 'i-00000000000000001' }, 'CONTINUE');
    expect(() => model.recordHeartbeat({ ...ref, token })).toThrow(
      `No active Lifecycle Action found with token ${token}`,
    );
    expect(() => model.completeAction({ ...ref, instanceId: 'i-00000000000000001' }, 'CONTINUE')).toThrow(
      'No active Lifecycle Action found with instance ID i-00000000000000001',
    );
    expect(() => model.completeAction({ ...ref, token: 'short' }, 'CONTINUE')).toThrow(
      /length greater than or equal to 36/,
    );
    expect(() => model.completeAction({ groupName: 'nope', hookName: 'drain', token }, 'CONTINUE')).toThrow(
      /not found/,
    );
    expect(() => model.completeAction({ ...ref, token }, 'MAYBE')).toThrow(/enum value/);
  });

  it('moves an instance without hooks straight to Terminating:Proceed', () => {
    model.createGroup('plain', []);
    model.addInstance('plain', 'i-0000000000000000a');
    model.terminateInstance('i-0000000000000000a', true);
    expect(started).toHaveLength(0);
    expect(state('i-0000000000000000a')).toBe('Terminating:Proceed');
  });
});

describe('warm-pool moves', () => {
  const groupStates = () =>
    model.describeGroups(['web'])[0]?.instances.map((instance) => instance.instanceId) ?? [];
  const pooled = () => model.describeWarmPool('web').instances.map((i) => [i.instanceId, i.lifecycleState]);

  it('carries Origin and Destination on the action, for the lifecycle event', () => {
    model.putWarmPool('web', { poolState: 'Stopped', reuseOnScaleIn: false });
    model.moveToWarmPool('i-00000000000000001');
    model.terminateInstance('i-00000000000000001', true);
    model.terminateInstance('i-00000000000000002', true);
    expect(started[0]?.route).toEqual({ origin: 'WarmPool', destination: 'EC2' });
    expect(started[1]?.route).toEqual({ origin: 'AutoScalingGroup', destination: 'EC2' });
  });

  it.each(['Stopped', 'Running', 'Hibernated'] as const)(
    'reuse on scale-in: Warmed:Pending:Wait, listed by the pool only, then Proceed, then Warmed:%s',
    (poolState) => {
      model.putWarmPool('web', { poolState, reuseOnScaleIn: true });
      model.setDesiredCapacity('web', 1);
      const [action] = started;
      expect(action?.route).toEqual({ origin: 'AutoScalingGroup', destination: 'WarmPool' });
      expect(state('i-00000000000000001')).toBe('Warmed:Pending:Wait');
      expect(groupStates()).toEqual(['i-00000000000000002']);
      expect(pooled()).toEqual([['i-00000000000000001', 'Warmed:Pending:Wait']]);
      model.completeAction({ ...ref, token: action?.token }, 'CONTINUE');
      expect(state('i-00000000000000001')).toBe('Warmed:Pending:Proceed');
      clock.advance(1000);
      model.advance();
      // Not terminated: back in the pool, in the pool's state.
      expect(state('i-00000000000000001')).toBe(`Warmed:${poolState}`);
      expect(model.describeWarmPool('web').spec).toEqual({ poolState, reuseOnScaleIn: true });
    },
  );

  it('terminating from the pool: Warmed:Terminating:Wait, then Proceed, then Terminated', () => {
    model.putWarmPool('web', { poolState: 'Stopped', reuseOnScaleIn: true });
    model.moveToWarmPool('i-00000000000000002');
    expect(groupStates()).toEqual(['i-00000000000000001']);
    model.terminateInstance('i-00000000000000002', false);
    expect(state('i-00000000000000002')).toBe('Warmed:Terminating:Wait');
    model.completeAction({ ...ref, token: started[0]?.token }, 'CONTINUE');
    expect(state('i-00000000000000002')).toBe('Warmed:Terminating:Proceed');
    clock.advance(1000);
    model.advance();
    expect(state('i-00000000000000002')).toBeUndefined();
    expect(pooled()).toEqual([]);
  });
});
