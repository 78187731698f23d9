// Reading Auto Scaling lifecycle states, warm pools' included. A terminate hook holds an instance in
// `Terminating:Wait`, `Warmed:Terminating:Wait` (leaving the warm pool) or `Warmed:Pending:Wait` (going back
// to it on scale-in); a launch hook may hold one there too, which only the adoption's probe tells apart.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html

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
