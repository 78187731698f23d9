// The agent and the Lambda read as short named steps: no function in agent/, common/ or lambda/ runs over
// MAX_FUNCTION_LINES.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const MAX_FUNCTION_LINES = 60;
const root = join(dirname(new URL(import.meta.url).pathname), '../..');

/** `file:line name (lines)` for every function longer than `max` lines in `source`. */
function longFunctions(file: string, source: string, max: number): string[] {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = tree.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = tree.getLineAndCharacterOfPosition(node.end).line;
      const name = node.name?.getText() ?? '(anonymous)';
      if (last - first + 1 > max) found.push(`${file}:${first + 1} ${name} (${last - first + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(tree);
  return found;
}

it(`no function in agent/, common/ or lambda/ runs over ${MAX_FUNCTION_LINES} lines`, () => {
  const found = ['agent', 'common', 'lambda'].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true })
      .map((entry) => `${dir}/${String(entry)}`)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => longFunctions(file, readFileSync(join(root, file), 'utf8'), MAX_FUNCTION_LINES)),
  );
  expect(found).toEqual([]);
});

it('finds a function that is too long', () => {
  const body = Array.from({ length: 5 }, (_, i) => `  const a${i} = ${i};`).join('\n');
  expect(longFunctions('x.ts', `function long() {\n${body}\n}\n`, 4)).toEqual(['x.ts:1 long (7 lines)']);
});
