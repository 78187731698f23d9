// The published construct must load with nothing but its peer dependencies installed: everything else it
// reaches (the policy schema, the Lambda's constants) is bundled into dist/lib/index.js.

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { expect, it } from 'vitest';

it('dist/lib/index.js requires only aws-cdk-lib, constructs and Node built-ins', () => {
  const code = readFileSync(new URL('../../dist/lib/index.js', import.meta.url), 'utf8');
  const required = new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1] as string));
  const allowed = (name: string) =>
    name === 'constructs' ||
    name === 'aws-cdk-lib' ||
    name.startsWith('aws-cdk-lib/') ||
    name.startsWith('node:') ||
    builtinModules.includes(name);
  expect([...required].filter((name) => !allowed(name))).toEqual([]);
  expect(required.has('aws-cdk-lib')).toBe(true);
});
