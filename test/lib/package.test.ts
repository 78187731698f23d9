// The package as a consumer gets it: `npm pack`, unpacked into a fresh CDK app that has only the peer
// dependencies, imported by name, used, and synthesized — in JavaScript, and type-checked in TypeScript
// against the shipped declarations — and its `fleet-drainer` command run there.

import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
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
import { isolationMode } from '../../twin/instances';

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

  // A fresh CDK app with nothing installed but the peer dependencies (linked to ours: no network) and the
  // package, unpacked where npm puts it, its commands linked into node_modules/.bin as npm links them.
  const modules = join(appDir, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const peer of ['aws-cdk-lib', 'constructs'])
    symlinkSync(join(ROOT, 'node_modules', peer), join(modules, peer));
  const target = join(modules, 'fleet-drainer');
  mkdirSync(target);
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  const { bin } = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  for (const [command, file] of Object.entries(bin))
    symlinkSync(join('..', 'fleet-drainer', file), join(modules, '.bin', command));
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

it('ships the licence and the READMEs beside the code that exist', () => {
  const root = join(appDir, 'node_modules/fleet-drainer');
  expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toContain('Apache License');
  const { files } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  for (const readme of files.filter((file) => file.endsWith('README.md')))
    expect(existsSync(join(root, readme)), readme).toBe(existsSync(join(ROOT, readme)));
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

// The drill's instances are PID namespaces; without unshare (not root, or no user namespaces) it cannot run.
it.runIf(isolationMode() === 'pid-namespace')(
  'runs `npx fleet-drainer drill` in the consumer app, with only the peer dependencies installed',
  { timeout: 90_000 },
  () => {
    const run = spawnSync('npx', ['--no', 'fleet-drainer', 'drill', '--instances', '2', '--scale-in', '1'], {
      cwd: appDir,
      encoding: 'utf8',
      timeout: 80_000,
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('Drill passed');
  },
);
