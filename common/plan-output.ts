// What a plan command prints on stdout, and how it is read back: the agent's `plan` writes it (on a host, or
// through the fleet-drain document with action `plan`), the `fleet-drainer plan` command parses it from the
// command's output. One place, so the two cannot drift. Dependency-free.
//
//   fleet-drain-plan v1 targets=2 unmatched=1 errors=0
//   {"version":1,"targets":[{"name":"workers","kind":"process",...,"matches":0,"unmatched":true,...}]}
//
// The summary line comes first, where SSM's cut of stdout (24,000 bytes) never reaches; the JSON follows on
// one line, kept under that cut by the agent.

export const PLAN_SUMMARY_PREFIX = 'fleet-drain-plan v1';

/** The comment of a plan command (SendCommand's Comment, at most 100 characters): never a drain's. */
export const PLAN_COMMENT_PREFIX = 'fleet-drainer:plan';

/** `fleet-drainer:plan i-0123456789abcdef0`: what the CLI sends, what the drainer Lambda ignores. */
export const planComment = (instanceId: string): string => `${PLAN_COMMENT_PREFIX} ${instanceId}`;

/** True for the comment of a plan command. */
export const isPlanComment = (comment: string | undefined): boolean =>
  comment === PLAN_COMMENT_PREFIX || (comment ?? '').startsWith(`${PLAN_COMMENT_PREFIX} `);

/** A process a target would signal; `matched` is false for a descendant that only came with a match. */
export interface PlanProcess {
  pid: number;
  /** Its command line (a container's id for docker); absent when it could not be read. */
  command?: string;
  matched?: boolean;
}

/** What one target of the policy would do on this host. */
export interface PlanTarget {
  name: string;
  kind: string;
  /** The schedule as written (`TERM/10m/KILL/5s`). */
  schedule: string;
  /** The targets it waits for. */
  after: string[];
  /** How many processes it found (all of them, listed or not). */
  matches: number;
  /**
   * It found nothing on this host and nothing went wrong looking: a drain would stop nothing of it. The most
   * common way to terminate a host undrained (a pattern that no longer matches the workers).
   */
  unmatched?: true;
  /** The processes, the first ones when there are too many to print. */
  processes: PlanProcess[];
  /** How many processes were left out of `processes`. */
  omitted?: number;
  /** Why the target could not be looked at (no docker, an unknown unit): it may still match. */
  error?: string;
}

export interface PlanOutput {
  version: number;
  targets: PlanTarget[];
}

export interface PlanSummary {
  targets: number;
  unmatched: number;
  errors: number;
}

/** The summary line of a plan, without its newline. */
export function formatPlanSummary(plan: PlanOutput): string {
  const unmatched = plan.targets.filter((target) => target.unmatched).length;
  const errors = plan.targets.filter((target) => target.error !== undefined).length;
  return `${PLAN_SUMMARY_PREFIX} targets=${plan.targets.length} unmatched=${unmatched} errors=${errors}`;
}

/** The whole of stdout: the summary line, then the JSON on one line. */
export const formatPlanOutput = (plan: PlanOutput): string =>
  `${formatPlanSummary(plan)}\n${JSON.stringify(plan)}\n`;

/** What parsePlanOutput reads back. */
export interface ParsedPlanOutput {
  summary: PlanSummary;
  /** Undefined when the JSON was cut (see `truncated`): the summary still counts the unmatched targets. */
  plan: PlanOutput | undefined;
  /** SSM cut the output (`--output truncated--`) or it ends early. */
  truncated: boolean;
}

/** SSM's marker at the end of a cut stdout (amazon-ssm-agent, agent/plugins/pluginutil). */
const TRUNCATED_MARKER = '--output truncated--';

const SUMMARY = /^fleet-drain-plan v1 targets=(\d+) unmatched=(\d+) errors=(\d+)(?: [^\n]*)?$/;

/**
 * Reads a plan command's stdout (GetCommandInvocation's StandardOutputContent). Throws an Error naming what
 * is wrong when it is not a plan: no summary line (an older document, or the command failed before the
 * agent ran: read its stderr), or JSON that is not a plan.
 */
export function parsePlanOutput(stdout: string): ParsedPlanOutput {
  const lines = stdout.split('\n');
  const index = lines.findIndex((line) => line.startsWith(`${PLAN_SUMMARY_PREFIX} `));
  const match = index < 0 ? null : SUMMARY.exec((lines[index] as string).trim());
  if (match === null) {
    throw new Error(
      `the command printed no plan (no "${PLAN_SUMMARY_PREFIX}" line): the document may predate plan mode (redeploy the stack), or the command failed before the agent ran (see its error output)`,
    );
  }
  const summary = { targets: Number(match[1]), unmatched: Number(match[2]), errors: Number(match[3]) };
  const rest = lines
    .slice(index + 1)
    .join('\n')
    .trim();
  if (rest.endsWith(TRUNCATED_MARKER) || rest === '') return { summary, plan: undefined, truncated: true };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    return { summary, plan: undefined, truncated: true };
  }
  return { summary, plan: checkPlan(parsed), truncated: false };
}

/** The names of the targets that match nothing. */
export const unmatchedTargets = (plan: PlanOutput): string[] =>
  plan.targets.filter((target) => target.unmatched).map((target) => target.name);

function checkPlan(value: unknown): PlanOutput {
  const plan = value as Partial<PlanOutput> | null;
  const isTarget = (target: unknown): target is PlanTarget => {
    const t = target as Partial<PlanTarget> | null;
    return (
      typeof t === 'object' &&
      t !== null &&
      typeof t.name === 'string' &&
      typeof t.kind === 'string' &&
      typeof t.matches === 'number' &&
      Array.isArray(t.processes)
    );
  };
  if (
    typeof plan !== 'object' ||
    plan === null ||
    typeof plan.version !== 'number' ||
    !Array.isArray(plan.targets) ||
    !plan.targets.every(isTarget)
  ) {
    throw new Error('the plan output is not a plan (its JSON lacks version or targets): redeploy the stack');
  }
  return plan as PlanOutput;
}
