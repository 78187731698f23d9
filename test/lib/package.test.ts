// The package as a consumer gets it: `npm pack`, unpacked into a fresh CDK app, imported by name, used, and
// synthesized — in JavaScript, and type-checked in TypeScript against the shipped declarations.

import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'fleet-drainer-pack-'));
const appDir = join(dir, 'app');

beforeAll(() => {
  // The tarball, exactly as `npm publish` would ship it (dist/ was built by the test setup).
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { filename: string }[];
  const tarball = join(dir, (packed[0] as { filename: string }).filename);

  // A fresh app whose node_modules links to ours (no network), with the package unpacked into it.
  const modules = join(appDir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === '.bin' || entry === 'fleet-drainer') continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  const target = join(modules, 'fleet-drainer');
  mkdirSync(target);
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('ships the construct, its declarations and the prebuilt assets, and no sources', () => {
  const files = execFileSync('find', ['.', '-type', 'f'], {
    cwd: join(appDir, 'node_modules/fleet-drainer'),
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  expect(files).toEqual(
    expect.arrayContaining([
      './dist/lib/index.js',
      './dist/types/lib/index.d.ts',
      './dist/lambda/index.js',
      './dist/fleet-drain-agent.js',
    ]),
  );
  expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
});

it('synthesizes a consumer stack that uses FleetDrainer', { timeout: 60_000 }, () => {
  writeFileSync(
    join(appDir, 'app.js'),
    `const { App, Stack } = require('aws-cdk-lib');
const { FleetDrainer } = require('fleet-drainer');
const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Consumer');
new FleetDrainer(stack, 'Drainer', {
  groups: ['web'],
  policy: { version: 1, targets: [{ name: 'app', systemd: 'app.service', preset: 'node' }] },
});
app.synth();
`,
  );
  const out = join(dir, 'out');
  const run = spawnSync(process.execPath, ['app.js', out], { cwd: appDir, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const template = readFileSync(join(out, 'Consumer.template.json'), 'utf8');
  expect(template).toContain('"AWS::SSM::Document"');
  expect(template).toContain('"DefaultResult": "CONTINUE"');
  // The Lambda's asset came from the package's own dist/lambda.
  expect(readdirSync(out).some((entry) => entry.startsWith('asset.'))).toBe(true);
});

it('type-checks a TypeScript consumer against the shipped declarations', { timeout: 60_000 }, () => {
  writeFileSync(
    join(appDir, 'app.ts'),
    `import { App, Duration, Stack } from 'aws-cdk-lib';
import { type DrainPolicy, FleetDrainer } from 'fleet-drainer';
const policy: DrainPolicy = { version: 1, targets: [{ name: 'app', systemd: 'app.service', preset: 'node' }] };
const stack = new Stack(new App(), 'Consumer');
const drainer = new FleetDrainer(stack, 'Drainer', { groups: ['web'], policy, maxDrainTime: Duration.minutes(30) });
export const name: string = drainer.documentName;
// @ts-expect-error a preset that does not exist
export const bad: DrainPolicy = { version: 1, targets: [{ name: 'x', systemd: 'x.service', preset: 'unicorn' }] };
`,
  );
  writeFileSync(
    join(appDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'node16',
        target: 'ES2022',
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['app.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], {
    cwd: appDir,
    encoding: 'utf8',
  });
  expect(tsc.status, tsc.stdout).toBe(0);
});
