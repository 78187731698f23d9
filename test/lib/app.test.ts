// The CDK app as users run it: the real `cdk synth` (offline, no credentials), and the app's own errors.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { FleetDrainer } from '../../lib/index';
import { POLICY } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'fleet-drainer-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// No credentials, no instance metadata, no network calls of the CLI's own.
const OFFLINE_ENV = Object.fromEntries(
  Object.entries({
    ...process.env,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
  }).filter(
    ([key]) =>
      !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|REGION|DEFAULT_REGION)$/.test(key),
  ),
);

const runApp = (context: string[]) =>
  spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'lib/app.ts', ...context], {
    encoding: 'utf8',
    env: {
      ...OFFLINE_ENV,
      CDK_CONTEXT_JSON: JSON.stringify(Object.fromEntries(context.map((c) => c.split('=')))),
    },
  });

const template = (out: string, stack: string) =>
  JSON.parse(readFileSync(join(out, `${stack}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };

describe('npx cdk synth', () => {
  it('synthesizes the attach stack and the demo offline, without credentials', { timeout: 90_000 }, () => {
    const policyFile = join(dir, 'drain.json');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const out = join(dir, 'cdk.out');
    const synth = spawnSync(
      process.execPath,
      [
        'node_modules/aws-cdk/bin/cdk',
        'synth',
        '--no-notices',
        '--quiet',
        '-o',
        out,
        '-c',
        'autoScalingGroupNames=web, workers',
        '-c',
        `policy=${policyFile}`,
        '-c',
        'demo=true',
      ],
      { encoding: 'utf8', env: OFFLINE_ENV, timeout: 80_000 },
    );
    expect(synth.status, synth.stderr).toBe(0);

    const hooks = Object.values(template(out, 'FleetDrainer').Resources)
      .filter((resource) => resource.Type === 'AWS::AutoScaling::LifecycleHook')
      .map((resource) => resource.Properties.AutoScalingGroupName);
    expect(hooks.sort()).toEqual(['web', 'workers']);

    const demo = Object.values(template(out, 'FleetDrainerDemo').Resources);
    expect(demo.some((resource) => resource.Type === 'AWS::EC2::NatGateway')).toBe(false);
    expect(demo.filter((resource) => resource.Type === 'AWS::AutoScaling::LifecycleHook')).toHaveLength(1);
    expect(demo.find((resource) => resource.Type === 'AWS::EC2::LaunchTemplate')?.Properties).toMatchObject({
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } },
    });
  });
});

describe('the app', () => {
  it('says what to pass when given nothing', () => {
    const run = runApp([]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Tell fleet-drainer what to drain:.*autoScalingGroupNames=.*demo=true/s);
  });

  it('needs a policy to attach to existing groups', () => {
    const run = runApp(['autoScalingGroupNames=web']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/needs their drain policy: -c policy=\.\/drain\.json/);
  });

  it('rejects an invalid policy file with its issues and no stack trace', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        version: 1,
        targets: [{ name: 'w', match: { cmdline: 'x' }, schedule: 'TERM/soon' }],
      }),
    );
    const run = runApp(['autoScalingGroupNames=web', `policy=${bad}`]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/the drain policy .*bad\.json is invalid:\n {2}targets\[0\]\.schedule: /);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('rejects a policy file that is not JSON', () => {
    const bad = join(dir, 'not.json');
    writeFileSync(bad, 'version: 1');
    const run = runApp(['autoScalingGroupNames=web', `policy=${bad}`]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/the drain policy .*not\.json is not JSON/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it("reports the construct's own validation, such as a maximum drain time over 48 hours, without a stack trace", () => {
    const policyFile = join(dir, 'ok.json');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const run = runApp(['autoScalingGroupNames=web', `policy=${policyFile}`, 'maxDrainTime=200000']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /`maxDrainTime` must be at most 1 day 23 hours \(170607 s\), got 2 days 7 hours \(200000 s\)/,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('passes -c maxConcurrentDrains to the construct (validated there), and refuses one that is not a number', () => {
    const policyFile = join(dir, 'ok.json');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const tooMany = runApp([
      'autoScalingGroupNames=web',
      `policy=${policyFile}`,
      'maxConcurrentDrains=30000',
    ]);
    expect(tooMany.status).toBe(1);
    expect(tooMany.stderr).toMatch(/`maxConcurrentDrains` must be a whole number from 1 to 24000, got 30000/);
    const notNumber = runApp([
      'autoScalingGroupNames=web',
      `policy=${policyFile}`,
      'maxConcurrentDrains=many',
    ]);
    expect(notNumber.status).toBe(1);
    expect(notNumber.stderr).toMatch(/-c maxConcurrentDrains must be a whole number, got "many"/);
    expect(notNumber.stderr).not.toMatch(/^\s+at /m);
  });

  it('rejects a context key it does not know, in one line naming the key meant', () => {
    const run = runApp(['demo=true', 'maxDrainTme=30']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'fleet-drainer: unknown context key -c maxDrainTme=30: did you mean maxDrainTime? fleet-drainer reads ' +
        'autoScalingGroupNames, policy, demo, maxDrainTime, maxConcurrentDrains, onRebalanceRecommendation, ' +
        'stackName (see lib/README.md)\n',
    );
  });

  it("lets namespaced context through: feature flags, the CLI's own keys, cached lookups", () => {
    // Nothing to build: the app gets past the keys and stops at its usage.
    const run = runApp([
      '@aws-cdk/core:newStyleStackSynthesis=true',
      'aws:cdk:version-reporting=false',
      'ssm:/demo/ami=ami-12345678',
      'acknowledged-issue-numbers=32775',
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^fleet-drainer: Tell fleet-drainer what to drain:/);
  });

  it('rejects a stack name CloudFormation would refuse, in one line and without a stack trace', () => {
    for (const name of ['bad name!', '1st', 'x'.repeat(129)]) {
      const run = runApp(['demo=true', `stackName=${name}`]);
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        `fleet-drainer: -c stackName must be a CloudFormation stack name (a letter, then letters, digits or hyphens; at most 128 characters), got "${name}"\n`,
      );
    }
  });

  it('passes -c onRebalanceRecommendation to the construct, and refuses another value in one line', () => {
    const policyFile = join(dir, 'ok.json');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    const app = new App({
      context: {
        autoScalingGroupNames: 'web',
        policy: policyFile,
        onRebalanceRecommendation: 'prepare',
      },
    });
    buildApp(app);
    const drainer = app.node.findAll().find((construct) => construct instanceof FleetDrainer);
    expect(drainer?.onRebalanceRecommendation).toBe('prepare');
    const run = runApp(['demo=true', 'onRebalanceRecommendation=always']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'fleet-drainer: -c onRebalanceRecommendation must be ignore, prepare or drain, got "always"\n',
    );
  });

  it('takes only true or false for -c demo', () => {
    const run = runApp(['demo=yes']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('fleet-drainer: -c demo must be true or false, got "yes"\n');
  });
});
