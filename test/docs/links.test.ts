// Every relative link and file reference in the docs resolves, in the repository and in the npm package.
// The rule for the package: a shipped Markdown file links only to shipped files. Source files are not
// shipped, so the docs name them in backticks (`lib/defaults.ts`) and never link to them.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fileReferences,
  linkProblems,
  markdownFiles,
  ROOT,
  referenceProblems,
  relativeLinks,
} from './markdown';

const files = markdownFiles();
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('in the repository', () => {
  it('finds the docs', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'agent/README.md',
        'bench/README.md',
        'lib/README.md',
        'twin/README.md',
      ]),
    );
  });

  it.each(files)('%s: every relative link resolves, anchors included', (file) => {
    expect(linkProblems(file, read(file))).toEqual([]);
  });

  it.each(files)('%s: every backticked repository path exists', (file) => {
    expect(referenceProblems(file, read(file))).toEqual([]);
  });
});

describe('in the npm package', () => {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { files: { path: string }[] }[];
  const shipped = new Set(packed[0]?.files.map((file) => file.path) ?? []);
  const shippedDocs = [...shipped].filter((file) => file.endsWith('.md') && !file.startsWith('dist/'));

  it('ships the READMEs beside the code and the licence', () => {
    expect(shippedDocs).toEqual(
      expect.arrayContaining([
        'README.md',
        'agent/README.md',
        'bench/README.md',
        'lib/README.md',
        'twin/README.md',
      ]),
    );
  });

  it.each(shippedDocs)('%s links only to files the package ships', (file) => {
    expect(linkProblems(file, read(file), shipped)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const doc = [
    'See [the construct](lib/README.md#props) and [gone](lib/NOPE.md), [a heading](lib/README.md#nope),',
    '[the defaults](lib/defaults.ts), [AWS](https://docs.aws.amazon.com/) and `lib/defaults.ts`, `lib/gone.ts`,',
    '`TERM/30s/KILL/5s`, `/run/fleet-drainer`, `worker@*.service`, `test/fixtures/`.',
    '```',
    '[in code](nowhere.md) `nowhere/at-all.ts`',
    '```',
  ].join('\n');

  it('reads links and file references outside code blocks only', () => {
    expect(relativeLinks(doc)).toEqual([
      'lib/README.md#props',
      'lib/NOPE.md',
      'lib/README.md#nope',
      'lib/defaults.ts',
    ]);
    expect(fileReferences(doc)).toEqual(['lib/defaults.ts', 'lib/gone.ts', 'test/fixtures/']);
  });

  it('reports a missing file, a missing heading and a link to a file the package does not ship', () => {
    expect(linkProblems('README.md', doc, new Set(['README.md', 'lib/README.md']))).toEqual([
      'README.md: link (lib/NOPE.md) points to a missing file',
      'README.md: link (lib/README.md#nope) names a heading lib/README.md does not have',
      'README.md: link (lib/defaults.ts) points to lib/defaults.ts, which the package does not ship',
    ]);
    expect(referenceProblems('README.md', doc)).toEqual([
      'README.md: `lib/gone.ts` names no file or folder of the repository',
    ]);
  });
});
