// EventBridge event pattern matching, for the operators a rule may use: exact values (an array is an OR),
// `prefix`, `suffix`, `anything-but`, `exists`, `equals-ignore-case`, `numeric`. A pattern the twin cannot
// read is refused, as PutRule would refuse it, rather than silently matching.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html

type Pattern = Record<string, unknown>;

/** Thrown for a pattern EventBridge would reject. */
export class InvalidPatternError extends Error {
  override readonly name = 'InvalidEventPatternException';
}

/** True when `event` matches `pattern`. */
export function matchesPattern(pattern: Pattern, event: unknown): boolean {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new InvalidPatternError('Event pattern is not a JSON object');
  }
  return Object.entries(pattern).every(([field, rule]) => matchesField(rule, fieldOf(event, field), field));
}

function fieldOf(value: unknown, field: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, field)
    ? (value as Record<string, unknown>)[field]
    : undefined;
}

function matchesField(rule: unknown, value: unknown, field: string): boolean {
  if (Array.isArray(rule)) {
    // A leaf: the event's value (or any element of an array value) must match one of the rule's items.
    const values = Array.isArray(value) ? value : [value];
    const existsRule = rule.find((item) => isOperator(item) && 'exists' in item) as
      | Record<string, unknown>
      | undefined;
    if (existsRule !== undefined) return (value !== undefined) === existsRule.exists;
    return values.some(
      (item) => item !== undefined && rule.some((condition) => matchesValue(condition, item, field)),
    );
  }
  if (typeof rule === 'object' && rule !== null) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    return Object.entries(rule).every(([child, childRule]) =>
      matchesField(childRule, fieldOf(value, child), `${field}.${child}`),
    );
  }
  throw new InvalidPatternError(
    `Event pattern is not valid: the value of "${field}" must be an object or an array`,
  );
}

function isOperator(item: unknown): item is Record<string, unknown> {
  return typeof item === 'object' && item !== null && !Array.isArray(item);
}

function matchesValue(condition: unknown, value: unknown, field: string): boolean {
  if (!isOperator(condition)) return condition === value;
  const [operator, argument, ...rest] = Object.entries(condition).flat();
  if (rest.length > 0) throw new InvalidPatternError(`"${field}": one operator per condition`);
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof argument === 'string' && value.startsWith(argument);
    case 'suffix':
      return typeof value === 'string' && typeof argument === 'string' && value.endsWith(argument);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' &&
        typeof argument === 'string' &&
        value.toLowerCase() === argument.toLowerCase()
      );
    case 'anything-but': {
      if (isOperator(argument)) return !matchesValue(argument, value, field);
      const excluded = Array.isArray(argument) ? argument : [argument];
      return !excluded.includes(value);
    }
    case 'numeric':
      return typeof value === 'number' && Array.isArray(argument) && matchesNumeric(argument, value, field);
    default:
      throw new InvalidPatternError(`"${field}": unsupported operator ${String(operator)}`);
  }
}

function matchesNumeric(conditions: unknown[], value: number, field: string): boolean {
  for (let index = 0; index + 1 < conditions.length; index += 2) {
    const [operator, bound] = [conditions[index], Number(conditions[index + 1])];
    const ok =
      operator === '='
        ? value === bound
        : operator === '<'
          ? value < bound
          : operator === '<='
            ? value <= bound
            : operator === '>'
              ? value > bound
              : operator === '>='
                ? value >= bound
                : undefined;
    if (ok === undefined)
      throw new InvalidPatternError(`"${field}": unsupported numeric operator ${String(operator)}`);
    if (!ok) return false;
  }
  return true;
}
