// Reading Auto Scaling lifecycle states, warm pools' included. A terminate hook holds an instance in one of
// three wait states: `Terminating:Wait` (a plain scale-in), `Warmed:Terminating:Wait` (an instance of the warm
// pool being terminated: the event's Origin is WarmPool) and `Warmed:Pending:Wait` (an instance going back
// to the warm pool on scale-in, when the pool's instance reuse policy says ReuseOnScaleIn). Once the action
// is complete, the first terminates and the last goes on to `Warmed:Pending:Proceed`, then into the pool in
// the pool's state (`Warmed:Stopped`, `Warmed:Running` or `Warmed:Hibernated`).
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html (Example 4)
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_AutoScalingInstanceDetails.html (states)
//
// `Warmed:Pending:Wait` is also where a launch hook holds an instance launching into the pool: who holds it
// is told only by the adoption's probe (a heartbeat for our terminate hook), never by the state.

/** The wait states of a terminate hook. */
const TERMINATE_WAIT_STATES: ReadonlySet<string> = new Set([
  'Terminating:Wait',
  'Warmed:Terminating:Wait',
  'Warmed:Pending:Wait',
]);

/** The same, and the states just before them: the lifecycle action may already exist. */
const ACTIVE_ACTION_STATES: ReadonlySet<string> = new Set([
  ...TERMINATE_WAIT_STATES,
  'Terminating',
  'Warmed:Terminating',
  'Warmed:Pending',
]);

/** The instance may be held by a terminate lifecycle hook (see above for `Warmed:Pending:Wait`). */
export function isTerminatingWait(lifecycleState: string | undefined): boolean {
  return lifecycleState !== undefined && TERMINATE_WAIT_STATES.has(lifecycleState);
}

/** The instance is about to be, or is, held by a terminate hook: its lifecycle action may still be active. */
export function mayHaveActiveAction(lifecycleState: string | undefined): boolean {
  return lifecycleState !== undefined && ACTIVE_ACTION_STATES.has(lifecycleState);
}

/**
 * Whether a warm pool's instances are not running: a pool whose state is `Stopped` or `Hibernated` keeps its
 * instances so (DescribeWarmPool's WarmPoolConfiguration.PoolState), and an instance that leaves it to be
 * terminated has nothing to drain and no SSM Agent to run a drain. `Running` (or unknown) is drained.
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_WarmPoolConfiguration.html
 */
export function isStoppedPoolState(poolState: string | undefined): boolean {
  return poolState === 'Stopped' || poolState === 'Hibernated';
}
