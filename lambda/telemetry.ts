// Edge: Powertools Logger and Metrics (EMF) behind the Log and MetricsPort interfaces.

import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log, MetricsPort } from './aws/ports';

import { TRIGGER_DIMENSION } from './telemetry-names';

export {
  DRAIN_TRIGGERS,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  SERVICE_NAME_ENV,
  serviceNameOf,
  TRIGGER_DIMENSION,
} from './telemetry-names';

/** The Log port over a Powertools Logger (JSON lines with our keys). */
export function createLog(logger: Logger): Log {
  return {
    debug: (message, keys) => logger.debug(message, { ...keys }),
    info: (message, keys) => logger.info(message, { ...keys }),
    warn: (message, keys) => logger.warn(message, { ...keys }),
    error: (message, keys) => logger.error(message, { ...keys }),
  };
}

/** The MetricsPort over Powertools Metrics; metrics with an `outcome` or `trigger` dimension are emitted one by one. */
export function createMetricsPort(metrics: Metrics): MetricsPort {
  let stored = 0;
  return {
    count(name, value = 1, outcome, trigger) {
      if (outcome === undefined) {
        metrics.addMetric(name, MetricUnit.Count, value);
        stored += 1;
      } else {
        const single = metrics.singleMetric();
        single.addDimension('outcome', outcome);
        // A second dimension set: the {service, outcome} series stay whole, {service, trigger} is added.
        if (trigger !== undefined) single.addDimensions({ [TRIGGER_DIMENSION]: trigger });
        single.addMetric(name, MetricUnit.Count, value);
        return;
      }
      if (trigger === undefined) return;
      // Beside the {service} series (batched above), the same count by trigger.
      const byTrigger = metrics.singleMetric();
      byTrigger.addDimension(TRIGGER_DIMENSION, trigger);
      byTrigger.addMetric(name, MetricUnit.Count, value);
    },
    milliseconds(name, value, outcome) {
      if (outcome === undefined) {
        metrics.addMetric(name, MetricUnit.Milliseconds, value);
        stored += 1;
        return;
      }
      const single = metrics.singleMetric();
      single.addDimension('outcome', outcome);
      single.addMetric(name, MetricUnit.Milliseconds, value);
    },
    flush() {
      // Publishing nothing makes Powertools warn on every tick; skip it.
      if (stored === 0) return;
      stored = 0;
      metrics.publishStoredMetrics();
    },
  };
}
