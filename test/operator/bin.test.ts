// The `fleet-drainer` bin as a user runs it (dist/fleet-drainer.js, built by the test setup): its help
// lists every command, and with the real SDK and an empty environment the missing credentials and region
// are one line each, with their exit codes. No AWS endpoint is reached: both fail before any request.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(__dirname, '../../dist/fleet-drainer.js');

/** Runs the bin with nothing of this machine's AWS setup: no variables, an empty home. */
function runBin(args: string[]) {
  const home = mkdtempSync(join(tmpdir(), 'operator-home-'));
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      // The chain's last provider asks the EC2 instance metadata service; this machine is no instance.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the fleet-drainer bin', () => {
  it('--help lists every command', () => {
    const { code, stdout } = runBin(['--help']);
    expect(code).toBe(0);
    for (const command of ['status', 'report', 'plan', 'drill'])
      expect(stdout).toMatch(new RegExp(`^fleet-drainer ${command} `, 'm'));
    expect(stdout).toContain('Exit codes: 0 ok');
  });

  it('status --help gives the operator commands help', () => {
    const { code, stdout } = runBin(['status', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^fleet-drainer status \[--stack NAME\]/);
  });

  it('without credentials: one line, exit 77', () => {
    const { code, stdout, stderr } = runBin(['status', '--region', 'eu-west-1']);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'fleet-drainer status: no AWS credentials found: pass --profile NAME, set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`\n',
    );
    expect(code).toBe(77);
  });

  it('without a region: one line, exit 78', () => {
    const { code, stderr } = runBin(['report', 'i-0123456789abcdef0']);
    expect(stderr).toBe(
      'fleet-drainer report: no AWS region: pass --region (the stack’s region) or set AWS_REGION\n',
    );
    expect(code).toBe(78);
  });

  it('an unknown option: one line, exit 64', () => {
    const { code, stderr } = runBin(['plan', '--instance', 'i-0123456789abcdef0', '--dry']);
    expect(stderr.split('\n')).toHaveLength(2);
    expect(stderr).toContain("Unknown option '--dry'");
    expect(code).toBe(64);
  });
});
