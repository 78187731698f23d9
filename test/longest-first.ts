// The order test files start in: the longest first. Vitest orders by the durations it cached on an earlier
// run, and without them (a clean checkout, as in CI) by file size, which starts the Spot scenarios (a short
// file that waits out two minutes of wall clock) last and leaves one worker idle at the end of the run.

import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The files that each take over half a minute here, longest first (per-file durations of `npm test`). */
export const LONGEST_FILES = [
  'test/twin/spot-scenarios.test.ts',
  'test/twin/fault-matrix.test.ts',
  'test/twin/long-drain.test.ts',
  'test/lib/app.test.ts',
  'test/lib/package.test.ts',
  'test/twin/operator-scenario.test.ts',
];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FILES.indexOf(relative(file.project.config.root, file.moduleId));
      return index === -1 ? LONGEST_FILES.length : index;
    };
    return sorted
      .map((file, index) => ({ file, index }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.index - b.index)
      .map(({ file }) => file);
  }
}
