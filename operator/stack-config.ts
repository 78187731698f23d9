// The drainers a stack holds, read from its outputs: one output per FleetDrainer construct, told apart from
// the stack's others by its Description (common/operator-config.ts).

import {
  OPERATOR_OUTPUT_DESCRIPTION,
  type OperatorConfig,
  parseOperatorConfig,
} from '../common/operator-config';
import { EXIT, OperatorError } from './exit-codes';

/** A stack output as DescribeStacks returns it, reduced to what is read. */
export interface StackOutput {
  OutputKey?: string;
  OutputValue?: string;
  Description?: string;
}

/** The drainers of a stack; OperatorError when it has none or one cannot be read. */
export function drainersOf(stackName: string, outputs: readonly StackOutput[]): OperatorConfig[] {
  const ours = outputs.filter((output) => output.Description === OPERATOR_OUTPUT_DESCRIPTION);
  if (ours.length === 0) {
    throw new OperatorError(
      `stack ${stackName} has no fleet-drainer output: pass --stack NAME of the stack that holds the FleetDrainer construct, or redeploy it with this version`,
      EXIT.notFound,
    );
  }
  return ours.map((output) => {
    try {
      return parseOperatorConfig(output.OutputValue ?? '');
    } catch (error) {
      throw new OperatorError(
        `stack ${stackName}, output ${output.OutputKey ?? '?'}: ${(error as Error).message}`,
        EXIT.config,
      );
    }
  });
}

/** The drainer whose groups hold `groupName`, if any. */
export function drainerOfGroup(
  drainers: readonly OperatorConfig[],
  groupName: string,
): OperatorConfig | undefined {
  return drainers.find((drainer) => drainer.groups.includes(groupName));
}
