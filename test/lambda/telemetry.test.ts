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

describe('the trigger dimension', () => {
  /** The EMF records Powertools prints, as parsed objects. */
  function emitted(record: (port: ReturnType<typeof createMetricsPort>) => void) {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const lines: string[] = [];
    // Powertools writes EMF through its own Console on stdout.
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.startsWith('{')),
      );
      return true;
    });
    const port = createMetricsPort(new Metrics({ namespace: 'Test', serviceName: 'svc' }));
    record(port);
    port.flush();
    return lines.map(
      (line) =>
        JSON.parse(line) as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } } & Record<
          string,
          unknown
        >,
    );
  }

  it('publishes DrainsFinished under {service, outcome} and {service, trigger}', () => {
    const [record] = emitted((port) => port.count('DrainsFinished', 1, 'drained', 'spot-interruption'));
    expect(record?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
      ['service', 'outcome'],
      ['service', 'trigger'],
    ]);
    expect(record).toMatchObject({ trigger: 'spot-interruption', outcome: 'drained', DrainsFinished: 1 });
  });

  it('publishes DrainsStarted under {service} and {service, trigger}', () => {
    const records = emitted((port) => port.count('DrainsStarted', 1, undefined, 'rebalance-recommendation'));
    const sets = records.flatMap((record) => record._aws.CloudWatchMetrics[0]?.Dimensions ?? []);
    expect(sets.sort()).toEqual([['service'], ['service', 'trigger']]);
    expect(records.every((record) => record.DrainsStarted === 1)).toBe(true);
  });
});
