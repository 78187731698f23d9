// Reading Auto Scaling lifecycle states. Warm-pool instances carry a `Warmed:` prefix
// (e.g. `Warmed:Terminating:Wait`, *unconfirmed* for instances returning to the pool), so suffixes are matched.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html

/** The instance is held by a terminate lifecycle hook. */
export function isTerminatingWait(lifecycleState: string | undefined): boolean {
  return lifecycleState !== undefined && /(^|:)Terminating:Wait$/.test(lifecycleState);
}

/** The instance is about to be, or is, held by a terminate hook: its lifecycle action may still be active. */
export function mayHaveActiveAction(lifecycleState: string | undefined): boolean {
  return lifecycleState !== undefined && /(^|:)Terminating(:Wait)?$/.test(lifecycleState);
}
