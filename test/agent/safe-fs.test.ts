// File-system steps that always end: the bounded mkdir, and the check for the kernel's pseudo file systems.

import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PATH_DEPTH, makeDirs, pseudoFsProblem } from '../../agent/host/safe-fs.js';

describe('makeDirs', () => {
  it('creates the missing folders with the mode asked for', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fleet-drain-fs-')), 'a', 'b', 'c');
    makeDirs(dir, 0o700);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    makeDirs(dir); // already there: nothing to do
  });

  it('fails at once under /proc, where Node’s recursive mkdir never returns', () => {
    expect(() => makeDirs('/proc/fleet-drain-x/y')).toThrow(/ENOENT/);
  });

  it(`refuses to create more than ${MAX_PATH_DEPTH} folders`, () => {
    const base = mkdtempSync(join(tmpdir(), 'fleet-drain-fs-'));
    const deep = join(base, ...Array.from({ length: MAX_PATH_DEPTH + 1 }, () => 'd'));
    expect(() => makeDirs(deep)).toThrow(/ENAMETOOLONG/);
  });
});

describe('pseudoFsProblem', () => {
  it.each(['/proc/x', '/sys/fs/x', '/dev/x', '/run/../proc/x'])('names %s as the kernel’s', (path) => {
    expect(pseudoFsProblem(path)).toMatch(/which the kernel provides/);
  });

  it('leaves real file systems alone', () => {
    expect(pseudoFsProblem('/tmp/fleet-drain/state')).toBeUndefined();
    expect(pseudoFsProblem('/run/fleet-drainer')).toBeUndefined();
  });
});
