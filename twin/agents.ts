// SSM's view of the instances' agents (DescribeInstanceInformation): `Online` while the agent pings,
// `ConnectionLost` (with the last ping time) once it stops, gone when the instance is terminated.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_InstanceInformation.html

export interface AgentInfo {
  instanceId: string;
  pingStatus: 'Online' | 'ConnectionLost';
  lastPingMs: number;
  registeredMs: number;
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentInfo>();

  register(instanceId: string, nowMs: number): void {
    this.agents.set(instanceId, { instanceId, pingStatus: 'Online', lastPingMs: nowMs, registeredMs: nowMs });
  }

  /** The agent stops (or resumes) pinging. */
  setOnline(instanceId: string, online: boolean, nowMs: number): void {
    const agent = this.agents.get(instanceId);
    if (agent === undefined) return;
    if (online) this.agents.set(instanceId, { ...agent, pingStatus: 'Online', lastPingMs: nowMs });
    else if (agent.pingStatus === 'Online')
      this.agents.set(instanceId, { ...agent, pingStatus: 'ConnectionLost', lastPingMs: nowMs });
  }

  remove(instanceId: string): void {
    this.agents.delete(instanceId);
  }

  /** Whether SSM knows the instance (registered, not yet terminated). */
  has(instanceId: string): boolean {
    return this.agents.has(instanceId);
  }

  isOnline(instanceId: string): boolean {
    return this.agents.get(instanceId)?.pingStatus === 'Online';
  }

  /** Every registered agent, or those of `instanceIds`; an online agent's last ping is now. */
  describe(instanceIds: string[] | undefined, nowMs: number): AgentInfo[] {
    return [...this.agents.values()]
      .filter((agent) => instanceIds === undefined || instanceIds.includes(agent.instanceId))
      .map((agent) => (agent.pingStatus === 'Online' ? { ...agent, lastPingMs: nowMs } : { ...agent }));
  }
}
