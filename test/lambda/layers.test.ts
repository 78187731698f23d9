// The Lambda's folders are its layers: decide/ (pure decisions), aws/ (the AWS edges), workflows/ (one per
// kind of work, sharing drain-actions.ts). Read from the import statements of every file under lambda/.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAMBDA = fileURLToPath(new URL('../../lambda/', import.meta.url));
const SHARED_ACTIONS = 'workflows/drain-actions.ts';

/** Every .ts file under lambda/, relative to it. */
function lambdaFiles(dir = LAMBDA): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return lambdaFiles(path);
    return entry.name.endsWith('.ts') ? [relative(LAMBDA, path)] : [];
  });
}

/** The relative imports of a source text, resolved against `file` (lambda/-relative, `.ts` added). */
function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)];
  return specifiers.map((match) => `${normalize(join(dirname(file), match[1] as string))}.ts`);
}

/** The layering rules an import from `file` to `target` breaks (both lambda/-relative). */
function layerViolations(file: string, target: string): string[] {
  const layer = (path: string) => path.split('/')[0];
  const broken: string[] = [];
  if (layer(file) === 'decide' && (layer(target) === 'aws' || layer(target) === 'workflows')) {
    broken.push('decide/ imports only decisions and configuration, never aws/ or workflows/');
  }
  if (layer(file) === 'aws' && layer(target) === 'workflows') broken.push('aws/ never imports workflows/');
  if (
    layer(file) === 'workflows' &&
    layer(target) === 'workflows' &&
    file !== SHARED_ACTIONS &&
    target !== SHARED_ACTIONS
  ) {
    broken.push('a workflow never imports another workflow (only the shared drain actions)');
  }
  return broken;
}

function violations(sources: Record<string, string>): string[] {
  return Object.entries(sources).flatMap(([file, text]) =>
    importsOf(file, text).flatMap((target) =>
      layerViolations(file, target).map((rule) => `${file} → ${target}: ${rule}`),
    ),
  );
}

describe('the layers of lambda/', () => {
  const sources = Object.fromEntries(
    lambdaFiles().map((file) => [file, readFileSync(join(LAMBDA, file), 'utf8')]),
  );

  it('has a file in each layer', () => {
    const layers = new Set(Object.keys(sources).map((file) => file.split('/')[0]));
    expect([...layers]).toEqual(expect.arrayContaining(['decide', 'aws', 'workflows']));
    expect(Object.keys(sources)).toContain(SHARED_ACTIONS);
  });

  it('are kept by every import', () => {
    expect(violations(sources)).toEqual([]);
  });

  it('are broken by a decision that imports an AWS edge or a workflow', () => {
    const bad = {
      'decide/plan-tick.ts':
        "import type { Deps } from '../aws/ports';\nimport { x } from '../workflows/reconcile';",
    };
    expect(violations(bad)).toHaveLength(2);
  });

  it('are broken by an AWS edge that imports a workflow', () => {
    expect(
      violations({ 'aws/ssm.ts': "import { finishCommand } from '../workflows/drain-actions';" }),
    ).toHaveLength(1);
  });

  it('are broken by a workflow that imports another, but not by the shared drain actions', () => {
    const bad = { 'workflows/reconcile.ts': "import { adoptInstances } from './adopt-instances';" };
    const shared = { 'workflows/reconcile.ts': "import { completeDrain } from './drain-actions';" };
    expect(violations(bad)).toHaveLength(1);
    expect(violations(shared)).toEqual([]);
  });
});
