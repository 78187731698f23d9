// The Powertools adapters: metrics with an outcome dimension go out one by one, the rest are batched, and
// an invocation without metrics publishes nothing (Powertools would warn on every tick).

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLog, createMetricsPort, SERVICE_NAME_ENV, serviceNameOf } from '../../lambda/telemetry';

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('createMetricsPort', () => {
  it('batches plain counts and publishes them once on flush', () => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const add = vi.spyOn(metrics, 'addMetric');
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const port = createMetricsPort(metrics);
    port.count('Heartbeats', 7);
    port.milliseconds('DrainDuration', 1500);
    port.flush();
    port.flush();
    expect(add).toHaveBeenCalledWith('Heartbeats', MetricUnit.Count, 7);
    expect(add).toHaveBeenCalledWith('DrainDuration', MetricUnit.Milliseconds, 1500);
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('emits a metric with an outcome as a single metric with that dimension', () => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const single = new Metrics({ namespace: 'Test', serviceName: 'test', singleMetric: true });
    vi.spyOn(metrics, 'singleMetric').mockReturnValue(single);
    const dimension = vi.spyOn(single, 'addDimension');
    const add = vi.spyOn(single, 'addMetric');
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const port = createMetricsPort(metrics);
    port.count('DrainsFinished', 1, 'forced');
    port.flush();
    expect(dimension).toHaveBeenCalledWith('outcome', 'forced');
    expect(add).toHaveBeenCalledWith('DrainsFinished', MetricUnit.Count, 1);
    expect(publish).not.toHaveBeenCalled();
  });
});

describe('createLog', () => {
  it('passes the join keys to Powertools as attributes', () => {
    const logger = new Logger({ serviceName: 'test' });
    const info = vi.spyOn(logger, 'info').mockImplementation(() => {});
    createLog(logger).info('drain started', {
      instanceId: 'i-1',
      drainId: 'd',
      commandId: 'c',
      autoScalingGroupName: 'g',
    });
    expect(info).toHaveBeenCalledWith('drain started', {
      instanceId: 'i-1',
      drainId: 'd',
      commandId: 'c',
      autoScalingGroupName: 'g',
    });
  });
});

describe('serviceNameOf', () => {
  it("takes the drainer's own service name from the environment, so two drainers' metrics stay apart", () => {
    expect(serviceNameOf({ [SERVICE_NAME_ENV]: 'fleet-drainer-Web' })).toBe('fleet-drainer-Web');
    expect(serviceNameOf({})).toBe('fleet-drainer');
    expect(serviceNameOf({ [SERVICE_NAME_ENV]: ' ' })).toBe('fleet-drainer');
  });
});
