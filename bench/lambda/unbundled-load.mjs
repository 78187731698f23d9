// Baseline for bench/lambda-bench.mjs: the same SDK clients, logger and metrics the Lambda builds, loaded
// unbundled from node_modules. Prints the milliseconds from the first import to the last constructor.

const startMs = performance.now();
const [{ AutoScalingClient }, { SSMClient }, { EventBridgeClient }, { Logger }, { Metrics }] =
  await Promise.all([
    import('@aws-sdk/client-auto-scaling'),
    import('@aws-sdk/client-ssm'),
    import('@aws-sdk/client-eventbridge'),
    import('@aws-lambda-powertools/logger'),
    import('@aws-lambda-powertools/metrics'),
  ]);
const options = { retryMode: 'adaptive', maxAttempts: 10 };
const built = [
  new AutoScalingClient(options),
  new SSMClient(options),
  new EventBridgeClient(options),
  new Logger({ serviceName: 'fleet-drainer' }),
  new Metrics({ namespace: 'FleetDrainer', serviceName: 'fleet-drainer' }),
];
process.stdout.write(`${performance.now() - startMs} ${built.length}\n`);
