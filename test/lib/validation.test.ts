import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { DrainPolicy } from '../../agent/policy/policy';
import { FleetDrainer, type FleetDrainerProps } from '../../lib/index';
import { POLICY } from './helpers';

const create = (props: Partial<FleetDrainerProps>) => () =>
  new FleetDrainer(new Stack(new App(), 'Test'), 'Drainer', { groups: ['web'], policy: POLICY, ...props });

describe('props are checked in the constructor', () => {
  it('refuses a maximum drain time over 48 hours, pointing to instance retention', () => {
    expect(create({ maxDrainTime: Duration.hours(72) })).toThrow(
      /`maxDrainTime` must be at most 1 day 23 hours \(170607 s\), got 3 days \(259200 s\).*configure-instance-retention/s,
    );
  });

  it('refuses 48 hours too: the action must also cover delivery, grace and one heartbeat timeout', () => {
    expect(create({ maxDrainTime: Duration.hours(48) })).toThrow(
      /`maxDrainTime` must be at most .*\(170607 s\)/,
    );
  });

  it('refuses a maximum drain time under a minute', () => {
    expect(create({ maxDrainTime: Duration.seconds(10) })).toThrow(
      /`maxDrainTime` must be whole seconds from 1 minute to 1 day 23 hours, got 10 seconds/,
    );
  });

  it('refuses a reconcile period that is not whole minutes from 1 to 30', () => {
    expect(create({ reconcilePeriod: Duration.seconds(90) })).toThrow(
      /`reconcilePeriod` must be whole minutes from 1 minute to 30 minutes, got 1 minute 30 seconds/,
    );
    expect(create({ reconcilePeriod: Duration.hours(1) })).toThrow(/`reconcilePeriod`.*got 1 hour/);
  });

  it('refuses an unknown result policy', () => {
    expect(create({ resultPolicy: 'ABANDON' as never })).toThrow(
      /`resultPolicy` must be one of CONTINUE, ABANDON_ON_FAILURE, got "ABANDON"/,
    );
  });

  it('refuses an unknown rebalance setting', () => {
    expect(create({ onRebalanceRecommendation: 'terminate' as never })).toThrow(
      '`onRebalanceRecommendation` must be one of ignore, prepare, drain, got "terminate"',
    );
  });

  it('refuses no groups', () => {
    expect(create({ groups: [] })).toThrow(/`groups` must name at least one Auto Scaling group/);
  });

  it('refuses a group name the document cannot carry safely, saying why', () => {
    // Names AWS allows (spaces, `/`, commas) but that a shell or the comma-separated list would misread.
    for (const name of ['web; rm -rf /', 'web workers', 'team/web', 'a,b', 'x'.repeat(256)]) {
      expect(create({ groups: [name] })).toThrow(
        new RegExp(
          `\`groups\` has the Auto Scaling group name "${name.replace(/[/;]/g, '\\$&')}", which fleet-drainer cannot drain: .*allowedPattern must admit nothing a shell interprets.*Rename the group`,
        ),
      );
    }
    expect(create({ groups: ['x'.repeat(255), 'a.b_c+d=e@f-g'] })).not.toThrow();
  });

  it('refuses a group given twice, by name or by construct', () => {
    expect(create({ groups: ['web', 'web'] })).toThrow(/`groups` has the Auto Scaling group "web" twice/);
    expect(create({ groups: ['web', { group: 'web', policy: POLICY }] })).toThrow(/"web" twice/);
  });

  it('refuses maxConcurrentDrains that is not a whole number from 1 to 24000, naming the timeout it sizes', () => {
    for (const bad of [0, -1, 1.5, 24_001, 30_000, Number.NaN]) {
      expect(create({ maxConcurrentDrains: bad })).toThrow(
        new RegExp(
          `\`maxConcurrentDrains\` must be a whole number from 1 to 24000, got ${bad}: the hook's HeartbeatTimeout \\(at most 7200 s\\) must give every drain`,
        ),
      );
    }
    expect(create({ maxConcurrentDrains: 24_000 })).not.toThrow();
    expect(create({ maxConcurrentDrains: 1 })).not.toThrow();
  });

  it('checks the maximum drain time against the larger H that many concurrent drains need', () => {
    // 24,000 drains: H = 7200 s, so the longest drain is 48 h − 465 s − 7200 s.
    expect(create({ maxConcurrentDrains: 24_000, maxDrainTime: Duration.seconds(170_607) })).toThrow(
      /`maxDrainTime` must be at most .*\(165135 s\), got .*\(170607 s\)/,
    );
    expect(create({ maxConcurrentDrains: 24_000, maxDrainTime: Duration.seconds(165_135) })).not.toThrow();
  });

  it('refuses an invalid hook name', () => {
    // Auto Scaling's pattern ([A-Za-z0-9\-_\/]+) and the document parameter's, both.
    for (const bad of ['-x', 'a.b', 'a/b', 'a b', 'x'.repeat(256)]) {
      expect(create({ hookName: bad })).toThrow(
        /`hookName` must be 1 to 255 letters, digits, `-` or `_`, starting with a letter or digit, got "/,
      );
    }
    expect(create({ hookName: 'my_hook-1' })).not.toThrow();
  });

  it("validates the policy with the agent's own schema and lists every issue", () => {
    const bad = {
      version: 1,
      targets: [
        { name: 'a', match: { cmdline: 'x' }, schedule: 'TERM/forever' },
        { name: 'b', match: { cmdline: 'y' }, preset: 'unicorn' },
      ],
    } as unknown as DrainPolicy;
    expect(create({ policy: bad })).toThrow(
      /`policy` is not a valid drain policy:\n.*targets\[0\]\.schedule.*\n.*targets\[1\]\.preset/,
    );
  });
});

it('accepts the longest reconcile period with the longest drain', () => {
  expect(create({ reconcilePeriod: Duration.minutes(30), maxDrainTime: Duration.hours(45) })).not.toThrow();
});
