// What the `fleet-drainer` operator commands read from a deployed stack: one CloudFormation output per
// FleetDrainer construct, whose value is this JSON. The construct writes it (lib/), the CLI reads it back
// (operator/); one place, so the two cannot drift. Dependency-free.

/** The output's Description: how the CLI tells the drainer's output from the stack's others. */
export const OPERATOR_OUTPUT_DESCRIPTION = 'fleet-drainer: what the fleet-drainer command reads (JSON)';

/** Bumped when the shape changes incompatibly; the CLI names both versions when they differ. */
export const OPERATOR_CONFIG_VERSION = 1;

/** The drainer as the operator commands see it. */
export interface OperatorConfig {
  v: typeof OPERATOR_CONFIG_VERSION;
  /** The fleet-drain SSM Command document's name. */
  document: string;
  /** The terminate lifecycle hook's name, the same on every drained group. */
  hook: string;
  /** The drained Auto Scaling groups. */
  groups: string[];
  /**
   * The drainer Lambda's timing, in whole seconds, as the construct sets it in the function's environment:
   * the operator commands compute a drain's action start and heartbeat slots with the Lambda's own
   * functions. Optional: without it they show what needs no timing.
   */
  timing?: OperatorTiming;
}

/** The values behind FLEET_DRAINER_*_SECONDS (lambda/config.ts). */
export interface OperatorTiming {
  maxDrainSeconds: number;
  heartbeatTimeoutSeconds: number;
  tickPeriodSeconds: number;
  expiryGraceSeconds: number;
  adoptionDelaySeconds: number;
}

const TIMING_FIELDS = [
  'maxDrainSeconds',
  'heartbeatTimeoutSeconds',
  'tickPeriodSeconds',
  'expiryGraceSeconds',
  'adoptionDelaySeconds',
] as const;

/** The timing when every field is a whole number of seconds; undefined when absent or malformed. */
function parseTiming(value: unknown): OperatorTiming | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  const valid = TIMING_FIELDS.every(
    (name) => Number.isSafeInteger(fields[name]) && (fields[name] as number) >= 0,
  );
  if (!valid) return undefined;
  return Object.fromEntries(TIMING_FIELDS.map((name) => [name, fields[name]])) as unknown as OperatorTiming;
}

/** Parses an output value; throws an Error naming what is wrong. */
export function parseOperatorConfig(value: string): OperatorConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error('the fleet-drainer output is not JSON: redeploy the stack with this version');
  }
  const config = parsed as Partial<OperatorConfig> | null;
  if (typeof config !== 'object' || config === null)
    throw new Error('the fleet-drainer output is not an object');
  if (config.v !== OPERATOR_CONFIG_VERSION) {
    throw new Error(
      `the stack's fleet-drainer output is version ${String(config.v)}, this command reads version ${OPERATOR_CONFIG_VERSION}: use the fleet-drainer version the stack was deployed with, or redeploy`,
    );
  }
  const text = (x: unknown): x is string => typeof x === 'string' && x.length > 0;
  if (
    !text(config.document) ||
    !text(config.hook) ||
    !Array.isArray(config.groups) ||
    !config.groups.every(text)
  ) {
    throw new Error('the fleet-drainer output lacks document, hook or groups: redeploy the stack');
  }
  const timing = parseTiming(config.timing);
  return {
    v: OPERATOR_CONFIG_VERSION,
    document: config.document,
    hook: config.hook,
    groups: config.groups,
    ...(timing === undefined ? {} : { timing }),
  };
}
