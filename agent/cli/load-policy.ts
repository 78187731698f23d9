// The drain policy from --config or --config-b64, read and checked in full before any process is touched:
// every problem is named in one UsageError with exit 78.

import { readFileSync } from 'node:fs';
import { errorCode, errorMessage } from '../../common/errors.js';
import { pseudoFsProblem } from '../host/safe-fs.js';
import { PolicyError, parsePolicyJson, type ResolvedPolicy } from '../policy/policy.js';
import { EXIT } from '../report/exit-codes.js';
import type { OptionValues } from './command-line.js';
import type { Io } from './io.js';
import { UsageError } from './usage.js';

/** Reads and validates the policy; UsageError with exit 78 naming every problem. */
export function loadPolicy(values: OptionValues, io: Io): ResolvedPolicy {
  const text =
    values['config-b64'] !== undefined ? decodeBase64(values['config-b64']) : readConfig(values, io);
  try {
    return parsePolicyJson(text);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    const issues = error.issues.map((issue) => `  ${issue.path}: ${issue.message}`);
    throw new UsageError(`invalid config:\n${issues.join('\n')}`, EXIT.config);
  }
}

function decodeBase64(value: string): string {
  const b64 = value.trim();
  // Four characters encode three bytes: a length of 4n+1 cannot be base64.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) {
    throw new UsageError('--config-b64 is not valid base64', EXIT.config);
  }
  return Buffer.from(b64, 'base64').toString('utf8');
}

function readConfig(values: OptionValues, io: Io): string {
  const file = values.config as string;
  try {
    return file === '-' ? io.readStdin() : readFileSync(file, 'utf8');
  } catch (error) {
    const source = file === '-' ? 'from stdin' : `file ${file}`;
    throw new UsageError(
      `cannot read the config ${source}: ${errorCode(error) ?? errorMessage(error)}`,
      EXIT.config,
    );
  }
}

/**
 * The policy's touch paths, checked on this host: the schema refuses /proc, /sys and /dev by name; here a
 * symbolic link or a mount that leads onto a pseudo file system is refused too (UsageError, exit 78).
 */
export function checkWritablePaths(policy: ResolvedPolicy): void {
  const problems = (['prepare', 'finally'] as const).flatMap((phase) =>
    policy[phase].flatMap((step, index) => {
      const problem = step.kind === 'touch' ? pseudoFsProblem(step.path) : undefined;
      return problem ? [`  ${phase}[${index}].touch: ${problem}; a drain writes nothing there`] : [];
    }),
  );
  if (problems.length > 0) throw new UsageError(`invalid config:\n${problems.join('\n')}`, EXIT.config);
}
