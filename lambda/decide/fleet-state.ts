// What the AWS edges report of the fleet, as plain data the decisions read.

/** Where an instance is in its Auto Scaling lifecycle. */
export interface InstanceState {
  instanceId: string;
  groupName: string;
  /** e.g. `InService`, `Terminating`, `Terminating:Wait`, `Terminating:Proceed`, `Warmed:Pending:Wait`. */
  lifecycleState: string;
  /** For an instance of a warm pool (DescribeWarmPool): the pool's state, `Stopped`, `Running` or `Hibernated`. */
  poolState?: string;
}

/** What SSM knows of an instance's agent (DescribeInstanceInformation). */
export interface AgentState {
  /** `Online`, `ConnectionLost` or `Inactive`. */
  pingStatus: string;
  lastPingMs: number | undefined;
}

/** An instance to adopt. */
export interface AdoptionCandidate extends InstanceState {
  /**
   * Finished commands requested at or before this belong to an earlier life of the instance (their action is
   * over): they do not block adoption. Undefined: every recent finished command blocks it.
   */
  ignoreFinishedUntilMs?: number;
}
