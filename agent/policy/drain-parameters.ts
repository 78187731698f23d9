// The parameters of the fleet-drain SSM document: the contract between the Lambda (which sends them), the
// document (whose `allowedPattern`s are these) and the agent (which checks them again). One place, so the
// three cannot drift. Patterns are strict on purpose: SSM Agents older than 3.3.2746.0 substitute parameters
// into the script as text instead of passing them as environment variables.

/** Names of the document's parameters; each reaches the script as `$SSM_<name>` (interpolationType ENV_VAR). */
export const DRAIN_PARAMETERS = {
  drainId: {
    pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,63}$',
    description: 'Drain id: the lifecycle action token. A second command with the same id joins the first.',
  },
  deadline: {
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$',
    description: 'UTC time (ISO 8601) by which the drain must have ended: event time + maximum drain time.',
  },
  instanceId: {
    pattern: '^(i|mi)-[0-9a-f]{8,17}$',
    description: 'The instance being drained (for logs).',
  },
  autoScalingGroupName: {
    pattern: '^[A-Za-z0-9][A-Za-z0-9._+=@-]{0,254}$',
    description: 'The Auto Scaling group that is terminating the instance.',
  },
  lifecycleHookName: {
    pattern: '^[A-Za-z0-9][A-Za-z0-9._+=@-]{0,254}$',
    description: 'The terminate lifecycle hook holding the instance.',
  },
  action: {
    pattern: '^(drain|prepare|plan)$',
    description:
      "drain: the whole drain. prepare: only the policy's prepare steps, nothing signalled (a rebalance recommendation). plan: what each target matches; nothing signalled, no state written, no lifecycle action touched.",
    default: 'drain',
  },
  policy: {
    // Strict base64: whole quartets, padding only at the end. No repeat count bounds its length (RE2, and
    // engines like it, refuse counts over 1,000): maxChars does, checked by SSM (the document declares it),
    // findInvalidParameter, the document's script and the operator CLI.
    pattern: '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
    maxChars: 65_536,
    description:
      'plan only: a drain policy to try instead of the deployed one, as base64 of its JSON. Empty: the deployed policy.',
    default: '',
  },
  drainIds: {
    pattern:
      '^((i|mi)-[0-9a-f]{8,17}=[A-Za-z0-9][A-Za-z0-9-]{0,63}(,(i|mi)-[0-9a-f]{8,17}=[A-Za-z0-9][A-Za-z0-9-]{0,63}){0,49})?$',
    description:
      'A start batched over several instances: <instanceId>=<drainId> for each, comma-separated (at most 50, as SendCommand). Each host runs its own; drainId and instanceId then name the first. Empty: one instance.',
    default: '',
  },
} as const;

/**
 * The longest `policy` value (base64 characters), SSM's document parameter `maxChars`. A policy the document
 * could carry fits: the whole document, the policy inside it in base64, is at most 64 KB
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html). It reaches the
 * agent as one environment string and one argument, each well under Linux's 131,072 bytes (MAX_ARG_STRLEN,
 * 32 pages: include/uapi/linux/binfmts.h). SendCommand documents no size for a parameter value.
 */
export const POLICY_PARAMETER_MAX_CHARS = DRAIN_PARAMETERS.policy.maxChars;

/** The `action` values that drain (the Lambda sends them); `plan` only ever comes from an operator. */
export const DRAIN_ACTIONS = ['drain', 'prepare'] as const;
/** The `action` of a plan command: it lists what each target matches and changes nothing. */
export const PLAN_ACTION = 'plan';

export type DrainParameterName = keyof typeof DRAIN_PARAMETERS;

/**
 * Values of the document's parameters, as SendCommand takes them (one string each); `action`, `policy` and
 * `drainIds` have defaults.
 */
export type DrainParameters = Record<
  Exclude<DrainParameterName, 'action' | 'policy' | 'drainIds'>,
  string
> & {
  action?: string;
  policy?: string;
  drainIds?: string;
};

/** What a drain does: all of it, or only the policy's prepare steps. */
export type DrainAction = (typeof DRAIN_ACTIONS)[number];

/**
 * The first parameter whose value does not match its pattern (or is longer than its maxChars), or undefined
 * when all are valid. A missing parameter with a default (`action`, `policy`) takes it, as SSM does.
 */
export function findInvalidParameter(
  values: Record<string, string | undefined>,
): DrainParameterName | undefined {
  for (const [name, spec] of Object.entries(DRAIN_PARAMETERS)) {
    const { pattern } = spec;
    const value = values[name] ?? ('default' in spec ? spec.default : undefined);
    if (value === undefined || !new RegExp(pattern).test(value)) return name as DrainParameterName;
    if ('maxChars' in spec && value.length > spec.maxChars) return name as DrainParameterName;
  }
  return undefined;
}
