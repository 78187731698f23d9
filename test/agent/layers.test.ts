// The agent's folders are layers: each imports only from its own folder and those below it, so that the
// policy never depends on how targets are signalled, nor a target on how a drain is run. Below them all
// sits common/ (shared with the Lambda), which imports only Node's built-ins.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Lowest first: a folder may import from the ones before it, never from the ones after it. */
const LAYERS = [
  'common',
  'agent/host',
  'agent/policy',
  'agent/report',
  'agent/targets',
  'agent/drain',
  'agent/cli',
];
/** Files directly under agent/ (the entry point) sit above every folder. */
const ENTRY_LAYER = LAYERS.length;

const root = join(dirname(new URL(import.meta.url).pathname), '../..');

const layerOf = (file: string): number | undefined => {
  const folder = dirname(file);
  if (folder === 'agent') return ENTRY_LAYER;
  const index = LAYERS.indexOf(folder);
  return index < 0 ? undefined : index;
};

const importsOf = (source: string): string[] =>
  [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map(
    (match) => (match[1] ?? match[2]) as string,
  );

/** Every import in `files` (paths relative to the repository, with their text) that breaks the layering. */
function layerViolations(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, source] of files) {
    const own = layerOf(file);
    if (own === undefined) {
      problems.push(`${file}: in no layer (${LAYERS.join(', ')})`);
      continue;
    }
    for (const specifier of importsOf(source)) {
      if (specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('.')) {
        problems.push(`${file}: imports the package ${specifier}; only node: built-ins are allowed`);
        continue;
      }
      const target = relative('.', join(dirname(file), specifier));
      const layer = layerOf(target);
      if (layer === undefined) problems.push(`${file}: imports ${target}, outside agent/ and common/`);
      else if (layer > own)
        problems.push(`${file}: imports ${target}, from ${LAYERS[layer]} above its own ${LAYERS[own]}`);
    }
  }
  return problems;
}

const sources = (): Map<string, string> => {
  const files = new Map<string, string>();
  for (const dir of ['agent', 'common']) {
    for (const entry of readdirSync(join(root, dir), { recursive: true })) {
      const file = `${dir}/${String(entry)}`;
      if (file.endsWith('.ts')) files.set(file, readFileSync(join(root, file), 'utf8'));
    }
  }
  return files;
};

describe('the layers of the agent', () => {
  it('every file under agent/ and common/ imports only from its own layer or the ones below it', () => {
    expect(layerViolations(sources())).toEqual([]);
  });

  it('a policy module that imports a target is refused', () => {
    const files = new Map([
      ['agent/policy/x.ts', "import { ProcessTarget } from '../targets/process-target.js';"],
    ]);
    expect(layerViolations(files)).toEqual([
      'agent/policy/x.ts: imports agent/targets/process-target.js, from agent/targets above its own agent/policy',
    ]);
  });

  it('common/ importing the agent, or the agent importing the Lambda or a package, is refused', () => {
    const files = new Map([
      ['common/x.ts', "import { EXIT } from '../agent/report/exit-codes.js';"],
      ['agent/drain/y.ts', "import type { Ports } from '../../lambda/ports';\nimport { z } from 'zod';"],
    ]);
    expect(layerViolations(files)).toEqual([
      'common/x.ts: imports agent/report/exit-codes.js, from agent/report above its own common',
      'agent/drain/y.ts: imports lambda/ports, outside agent/ and common/',
      'agent/drain/y.ts: imports the package zod; only node: built-ins are allowed',
    ]);
  });

  it('the entry point, directly under agent/, may import from every layer', () => {
    const files = new Map([['agent/bin.ts', "import { main } from './cli/main.js';"]]);
    expect(layerViolations(files)).toEqual([]);
  });
});
