// Every relative link and file reference in the docs resolves, in the repository and in the npm package.
// The rule for the package: a shipped Markdown file links only to shipped files. Source files are not
// shipped, so the docs name them in backticks (`lib/defaults.ts`) and never link to them.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  anchors,
  fileReferences,
  linkProblems,
  markdownFiles,
  ROOT,
  referenceProblems,
  relativeLinks,
  slug,
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

describe('in the messages of the code', () => {
  // A message may send its reader to a doc (`see lib/README.md`) or to a section of one (`"Writing a drain
  // policy" in lib/README.md`): both must exist, in the repository and in the package the user installed.
  const sources = ['agent', 'common', 'lambda', 'lib', 'twin'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true })
      .map((entry) => `${dir}/${String(entry)}`)
      .filter((file) => file.endsWith('.ts')),
  );
  const pointers = sources.flatMap((file) =>
    [...read(file).matchAll(/(?:"([^"\n]+)" in )?\b((?:agent|lambda|lib|twin|bench)\/README\.md)/g)].map(
      (match) => ({ file, section: match[1], doc: match[2] as string }),
    ),
  );

  it('point at a doc somewhere', () => {
    expect(pointers.map((pointer) => pointer.doc)).toContain('lib/README.md');
  });

  it.each(pointers)('$file → $doc $section', ({ doc, section }) => {
    expect(files).toContain(doc);
    if (section !== undefined) expect([...anchors(read(doc))]).toContain(slug(section));
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
