// The sequencer's list of long files names files that exist: a renamed file would silently start late again.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { LONGEST_FILES } from '../longest-first';

it.each(LONGEST_FILES)('%s exists', (file) => {
  expect(existsSync(file)).toBe(true);
});
