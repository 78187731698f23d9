// An SSM Command document (schemaVersion 2.2) as the twin runs it: parameter validation as SendCommand does
// it, then the `aws:runShellScript` steps as one script with its environment. Only what Linux hosts use.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html

import { AwsError } from './aws-error';

interface ParameterSpec {
  type?: string;
  default?: string;
  allowedPattern?: string;
  allowedValues?: string[];
  minChars?: number;
  maxChars?: number;
  interpolationType?: string;
}

interface StepSpec {
  action?: string;
  name?: string;
  inputs?: { runCommand?: unknown; timeoutSeconds?: unknown };
}

/** A document's content, as it appears in the template's `AWS::SSM::Document` Content. */
export interface DocumentContent {
  schemaVersion?: string;
  parameters?: Record<string, ParameterSpec>;
  mainSteps?: StepSpec[];
}

/** One step ready to run: its shell script, its environment and its execution timeout. */
export interface ShellStep {
  name: string;
  script: string;
  env: Record<string, string>;
  executionTimeoutMs: number;
}

/** aws:runShellScript's default execution timeout. */
export const DEFAULT_EXECUTION_TIMEOUT_SECONDS = 3600;
/** aws:runShellScript's maximum execution timeout (48 h). */
const MAX_EXECUTION_TIMEOUT_SECONDS = 172_800;

/** Checks a document the way CreateDocument would, for what the twin relies on. */
export function checkDocument(content: DocumentContent): string[] {
  const problems: string[] = [];
  if (content.schemaVersion !== '2.2')
    problems.push(`schemaVersion must be 2.2, got ${content.schemaVersion}`);
  const steps = content.mainSteps ?? [];
  if (steps.length === 0) problems.push('mainSteps is empty');
  for (const step of steps) {
    if (step.action !== 'aws:runShellScript')
      problems.push(`step ${step.name}: the twin runs only aws:runShellScript, got ${step.action}`);
    const commands = step.inputs?.runCommand;
    if (!Array.isArray(commands) || commands.some((line) => typeof line !== 'string')) {
      problems.push(`step ${step.name}: inputs.runCommand must be a list of strings`);
    }
  }
  for (const [name, spec] of Object.entries(content.parameters ?? {})) {
    if (spec.allowedPattern !== undefined) {
      try {
        new RegExp(spec.allowedPattern);
      } catch {
        problems.push(`parameter ${name}: allowedPattern is not a valid regular expression`);
      }
    }
  }
  return problems;
}

/**
 * Resolves SendCommand's Parameters against the document: unknown names and values that fail a constraint
 * (`allowedPattern`, `allowedValues`, `minChars`, `maxChars`) are refused with InvalidParameters (message
 * wording *unconfirmed*), defaults fill the rest and are checked alike.
 */
export function resolveParameters(
  content: DocumentContent,
  given: Record<string, string[]> | undefined,
): Record<string, string> {
  const specs = content.parameters ?? {};
  const values: Record<string, string> = {};
  for (const [name, list] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(specs, name)) {
      throw new AwsError('InvalidParameters', `Parameter "${name}" is not defined in the document.`);
    }
    values[name] = list.join(',');
  }
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name] ?? spec.default;
    if (value === undefined) {
      throw new AwsError('InvalidParameters', `Parameter "${name}" is required but was not provided.`);
    }
    const problem = constraintFailed(spec, value);
    if (problem !== undefined) {
      throw new AwsError(
        'InvalidParameters',
        `Parameter "${name}" "${value.length > 100 ? `${value.slice(0, 100)}…` : value}" failed to satisfy constraint: ${problem}`,
      );
    }
    values[name] = value;
  }
  return values;
}

/**
 * The constraint of the document's parameter syntax a value fails, if any: `allowedPattern`,
 * `allowedValues`, `minChars`, `maxChars`.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-doc-syntax.html
 */
function constraintFailed(spec: ParameterSpec, value: string): string | undefined {
  if (spec.allowedPattern !== undefined && !new RegExp(spec.allowedPattern).test(value))
    return spec.allowedPattern;
  if (spec.allowedValues !== undefined && !spec.allowedValues.includes(value))
    return `one of ${spec.allowedValues.join(', ')}`;
  if (spec.minChars !== undefined && value.length < spec.minChars)
    return `at least ${spec.minChars} characters`;
  if (spec.maxChars !== undefined && value.length > spec.maxChars)
    return `at most ${spec.maxChars} characters`;
  return undefined;
}

/**
 * The steps to run: `{{ name }}` is substituted as text (what every SSM Agent does), and parameters with
 * `interpolationType: ENV_VAR` are also exported as `SSM_<name>` (SSM Agent ≥ 3.3.2746.0).
 */
export function renderSteps(content: DocumentContent, values: Record<string, string>): ShellStep[] {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(content.parameters ?? {})) {
    if (spec.interpolationType === 'ENV_VAR') env[`SSM_${name}`] = values[name] as string;
  }
  return (content.mainSteps ?? []).map((step, index) => {
    const lines = (step.inputs?.runCommand ?? []) as string[];
    const script = lines
      .join('\n')
      .replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
    const seconds = Number(step.inputs?.timeoutSeconds ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS);
    const timeout =
      Number.isFinite(seconds) && seconds > 0
        ? Math.min(seconds, MAX_EXECUTION_TIMEOUT_SECONDS)
        : DEFAULT_EXECUTION_TIMEOUT_SECONDS;
    return { name: step.name ?? `step${index + 1}`, script, env, executionTimeoutMs: timeout * 1000 };
  });
}
