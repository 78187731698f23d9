// Names the construct's alarms and dashboard share with the Lambda's telemetry. No imports, so that lib/
// can use them without loading Powertools.

export const SERVICE_NAME = 'fleet-drainer';
export const METRICS_NAMESPACE = 'FleetDrainer';
