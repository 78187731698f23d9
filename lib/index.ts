// fleet-drainer's CDK construct library: what a consumer's app imports.

export type {
  DockerMatch,
  DrainPolicy,
  PolicyStep,
  PolicyTarget,
  ProcessMatch,
} from '../agent/policy/policy';
export { PRESETS, type PresetName } from '../agent/policy/presets';
export type { ResultPolicy } from '../lambda/config';
export { MissingBuildError } from './assets';
export * from './defaults';
export { HOST_STATE_DIR } from './drain-document';
export { ALARMED_OUTCOMES, OUTCOMES, TRIGGERS } from './drainer-monitoring';
export {
  COMMAND_STATUS_DETAIL_TYPE,
  FleetDrainer,
  type FleetDrainerGroup,
  type FleetDrainerProps,
  LIFECYCLE_DETAIL_TYPE,
  REBALANCE_RECOMMENDATION_DETAIL_TYPE,
  SPOT_INTERRUPTION_DETAIL_TYPE,
  TERMINAL_COMMAND_STATUSES,
} from './fleet-drainer';
export {
  apiBudgetSeconds,
  drainFits,
  globalTimeoutSeconds,
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  maxDrainSeconds,
  neededWaitSeconds,
} from './heartbeat-timeout';
export { OPERATOR_CALLS, OPERATOR_COMMANDS, type OperatorCommand } from './operator-access';
