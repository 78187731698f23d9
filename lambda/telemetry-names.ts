// Names the construct's alarms and dashboard share with the Lambda's telemetry. No imports, so that lib/
// can use them without loading Powertools.

/** The service name (the metrics' `service` dimension) when the environment names none. */
export const SERVICE_NAME = 'fleet-drainer';
/**
 * Powertools' own variable for the service name; the construct sets it to a name unique per drainer, so
 * that two drainers' metrics, alarms and dashboards stay apart.
 */
export const SERVICE_NAME_ENV = 'POWERTOOLS_SERVICE_NAME';

/** The service name the Lambda's logs and metrics carry. */
export function serviceNameOf(env: Record<string, string | undefined>): string {
  const name = env[SERVICE_NAME_ENV]?.trim();
  return name === undefined || name === '' ? SERVICE_NAME : name;
}
export const METRICS_NAMESPACE = 'FleetDrainer';

/** The `trigger` dimension of DrainsStarted and DrainsFinished (beside `service`), and its values. */
export const TRIGGER_DIMENSION = 'trigger';
export const DRAIN_TRIGGERS = ['lifecycle', 'spot-interruption', 'rebalance-recommendation'] as const;
