// lambda/README.md quotes the code's numbers: each is checked here against the constant it names, and its
// module map names every file under lambda/.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIENT_OPTIONS } from '../../lambda/aws/client-options';
import {
  CONFIG_ENV_NAMES,
  DEFAULT_ADOPTION_DELAY_SECONDS,
  DEFAULT_EVENT_BUS_NAME,
  DEFAULT_EXPIRY_GRACE_SECONDS,
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  DEFAULT_MAX_DRAIN_SECONDS,
  DEFAULT_RESULT_POLICY,
  DEFAULT_TICK_PERIOD_SECONDS,
  DEFAULT_UNREACHABLE_GRACE_SECONDS,
  ENV_ADOPTION_DELAY_SECONDS,
  ENV_DOCUMENT_NAME,
  ENV_EVENT_BUS_NAME,
  ENV_EXPIRY_GRACE_SECONDS,
  ENV_GROUP_NAMES,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_HOOK_NAME,
  ENV_MAX_DRAIN_SECONDS,
  ENV_RESULT_POLICY,
  ENV_TICK_PERIOD_SECONDS,
  ENV_UNREACHABLE_GRACE_SECONDS,
  HEARTBEAT_TIMEOUT_RANGE,
  LIFECYCLE_TIMEOUT_HEARTBEATS,
  MAX_ADOPTION_DELAY_SECONDS,
  MAX_DRAIN_SECONDS_LIMIT,
  MAX_UNREACHABLE_GRACE_SECONDS,
  parseConfig,
  TICK_PERIOD_RANGE,
  TICKS_PER_HEARTBEAT_TIMEOUT,
} from '../../lambda/config';
import { RECORD_RESERVE_MS, STATUS_BATCH_CONCURRENCY } from '../../lambda/create-handler';
import { COMMENT_LIMIT, DELIVERY_TIMEOUT_SECONDS } from '../../lambda/decide/drain-command';
import { MAX_ENTRY_BYTES } from '../../lambda/decide/drain-events';
import {
  HEARTBEAT_MARGIN_MS,
  maxHeartbeatPhaseMs,
  START_LEAD_MS,
} from '../../lambda/decide/heartbeat-schedule';
import { AGENT_LOST_MS, longestActionMs, SETTLE_MS } from '../../lambda/decide/plan-tick';
import { retryDelaySeconds } from '../../lambda/sqs-batch';
import { ADOPTION_RESERVE_MS } from '../../lambda/workflows/adopt-instances';
import {
  LOOKUP_TIMEOUT_MS,
  PROPAGATION_RETRIES,
  PROPAGATION_RETRY_MS,
  PROPAGATION_WINDOW_MS,
  UNREACHABLE_RESERVE_MS,
  UNREACHABLE_RETRY_MS,
} from '../../lambda/workflows/drain-actions';
import {
  AGENT_IDS_PER_CALL,
  FINISHED_LOOKUPS_PER_TICK,
  LOST_STATUS_EVENT_MS,
  RECONCILE_CONCURRENCY,
} from '../../lambda/workflows/reconcile';
import {
  ASYNC_RETRY_ATTEMPTS,
  EVENT_QUEUE_BATCH_SIZE,
  EVENT_QUEUE_MAX_CONCURRENCY,
  EVENT_QUEUE_VISIBILITY_FACTOR,
  FUNCTION_TIMEOUT,
  STATUS_QUEUE_MAX_CONCURRENCY,
} from '../../lib/defaults';

const README = new URL('../../lambda/README.md', import.meta.url);
const readme = readFileSync(README, 'utf8');
const seconds = (ms: number) => ms / 1000;
const minutes = (ms: number) => ms / 60_000;

/** The row of the configuration table for `name`. */
function configRow(name: string): string {
  return readme.split('\n').find((line) => line.startsWith(`| \`${name}\``)) ?? '';
}

describe('lambda/README.md', () => {
  it('lists every environment variable the configuration reads', () => {
    for (const name of CONFIG_ENV_NAMES) expect(configRow(name)).not.toBe('');
  });

  it('quotes each variable’s default and limits as config.ts sets them', () => {
    const [minH, maxH] = HEARTBEAT_TIMEOUT_RANGE;
    const [minTick, maxTick] = TICK_PERIOD_RANGE;
    const rows: [string, string[]][] = [
      [
        ENV_MAX_DRAIN_SECONDS,
        [
          `\`${DEFAULT_MAX_DRAIN_SECONDS}\``,
          `1 … ${MAX_DRAIN_SECONDS_LIMIT}`,
          `(${DELIVERY_TIMEOUT_SECONDS}: SendCommand's \`TimeoutSeconds\`)`,
          `min(${MAX_DRAIN_SECONDS_LIMIT}, ${LIFECYCLE_TIMEOUT_HEARTBEATS} × H)`,
        ],
      ],
      [ENV_HEARTBEAT_TIMEOUT_SECONDS, [`\`${DEFAULT_HEARTBEAT_TIMEOUT_SECONDS}\``, `(${minH}–${maxH})`]],
      [ENV_RESULT_POLICY, [`\`${DEFAULT_RESULT_POLICY}\``]],
      [ENV_EVENT_BUS_NAME, [`\`${DEFAULT_EVENT_BUS_NAME}\``]],
      [
        ENV_UNREACHABLE_GRACE_SECONDS,
        [`\`${DEFAULT_UNREACHABLE_GRACE_SECONDS}\``, `(0–${MAX_UNREACHABLE_GRACE_SECONDS})`],
      ],
      [
        ENV_ADOPTION_DELAY_SECONDS,
        [`\`${DEFAULT_ADOPTION_DELAY_SECONDS}\``, `(0–${MAX_ADOPTION_DELAY_SECONDS},`],
      ],
      [ENV_EXPIRY_GRACE_SECONDS, [`\`${DEFAULT_EXPIRY_GRACE_SECONDS}\``]],
      [
        ENV_TICK_PERIOD_SECONDS,
        [
          `\`${DEFAULT_TICK_PERIOD_SECONDS}\``,
          `(${minTick}–${maxTick},`,
          `≤ H/${TICKS_PER_HEARTBEAT_TIMEOUT})`,
        ],
      ],
    ];
    for (const [name, quotes] of rows) {
      for (const quote of quotes) expect(configRow(name), name).toContain(quote);
    }
  });

  it('quotes a configuration error as parseConfig words it', () => {
    const parsed = parseConfig({
      [ENV_DOCUMENT_NAME]: 'FleetDrain',
      [ENV_GROUP_NAMES]: 'web',
      [ENV_HOOK_NAME]: 'drain',
      [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '300',
      [ENV_MAX_DRAIN_SECONDS]: '29236',
    });
    expect(parsed.ok).toBe(false);
    const [error] = parsed.ok ? [] : parsed.errors;
    expect(error).toMatch(/got 30001 s$/);
    expect(readme).toContain(`(for example \`${error}\`:`);
  });

  it('quotes the event queues’ settings from the construct and the handler', () => {
    expect(readme).toContain(
      `in batches of ${EVENT_QUEUE_BATCH_SIZE} with a maximum concurrency of ${EVENT_QUEUE_MAX_CONCURRENCY} (lifecycle) and ${STATUS_QUEUE_MAX_CONCURRENCY} (status)`,
    );
    expect(readme).toContain(`a status batch's ${STATUS_BATCH_CONCURRENCY} at\na time`);
    expect(readme).toContain(
      `a batch size of ${EVENT_QUEUE_BATCH_SIZE} and a maximum concurrency\n  (${EVENT_QUEUE_MAX_CONCURRENCY} for lifecycle events, ${STATUS_QUEUE_MAX_CONCURRENCY} for status events), its visibility timeout ≥ ${EVENT_QUEUE_VISIBILITY_FACTOR} × the function's timeout`,
    );
    expect(readme).toContain(`the construct sets ${FUNCTION_TIMEOUT.toMinutes()} minutes`);
    expect(readme).toContain(`Lambda's async retries (${ASYNC_RETRY_ATTEMPTS}) stay on`);
    const visibilityMinutes = EVENT_QUEUE_VISIBILITY_FACTOR * FUNCTION_TIMEOUT.toMinutes();
    expect(readme).toContain(
      `${visibilityMinutes}-minute visibility timeout (${EVENT_QUEUE_VISIBILITY_FACTOR} × the ${FUNCTION_TIMEOUT.toMinutes()}-minute function timeout)`,
    );
    const delays = [1, 2, 3, 4].map(retryDelaySeconds);
    expect(readme).toContain(
      `${delays[0]} s, ${delays[1]} s, ${delays[2]} s, then ${delays[3]} s (\`retryDelaySeconds\`)`,
    );
    expect(readme).toContain(`\`RECORD_RESERVE_MS\` (${seconds(RECORD_RESERVE_MS)} s)`);
    expect(readme).toContain(`wait up to ${seconds(LOOKUP_TIMEOUT_MS)} s for SSM to know its`);
    expect(readme).toContain(`(${seconds(2 * LOOKUP_TIMEOUT_MS)} s for a command of an earlier version)`);
  });

  it('quotes the tick’s limits and timings', () => {
    expect(readme).toContain(`at most ${RECONCILE_CONCURRENCY} calls in flight (\`RECONCILE_CONCURRENCY\`)`);
    expect(readme).toContain(`(${AGENT_IDS_PER_CALL} ids a call, \`AGENT_IDS_PER_CALL\`)`);
    expect(readme).toContain(`for up to ${FINISHED_LOOKUPS_PER_TICK} of them`);
    expect(readme).toContain(`pinged for ${minutes(AGENT_LOST_MS)} minutes (\`AGENT_LOST_MS\`)`);
    expect(readme).toContain(
      `more than ${minutes(LOST_STATUS_EVENT_MS)} minutes ago (\`LOST_STATUS_EVENT_MS\``,
    );
    expect(readme).toContain(`(at least ${minutes(SETTLE_MS)} minutes\n  after they were sent`);
    expect(readme).toContain(
      `still \`Pending\` (or \`Delayed\`) ${DELIVERY_TIMEOUT_SECONDS} s after they were sent`,
    );
    expect(readme).toContain(`M = min(${minutes(HEARTBEAT_MARGIN_MS)} min, H − 3P)`);
    expect(readme).toContain(`less than ${seconds(START_LEAD_MS)} s (\`START_LEAD_MS\`)`);
    expect(readme).toContain(`delay + ${seconds(ADOPTION_RESERVE_MS)} s is left`);
    expect(readme).toContain(`stops retrying ${seconds(UNREACHABLE_RESERVE_MS)} s before the invocation`);
  });

  it('quotes the largest heartbeat phase for the default settings', () => {
    const phaseSeconds = (heartbeatTimeoutSeconds: number) => {
      const parsed = parseConfig({
        [ENV_DOCUMENT_NAME]: 'FleetDrain',
        [ENV_GROUP_NAMES]: 'web',
        [ENV_HOOK_NAME]: 'drain',
        [ENV_HEARTBEAT_TIMEOUT_SECONDS]: String(heartbeatTimeoutSeconds),
      });
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      return seconds(maxHeartbeatPhaseMs(parsed.config, longestActionMs(parsed.config)));
    };
    expect(readme).toContain(
      `${phaseSeconds(900)} s for H = 900 s and ${phaseSeconds(3000)} s for\n  H = 3,000 s`,
    );
  });

  it('quotes the start’s and the completion’s retries', () => {
    expect(readme).toContain(`retried every ${seconds(UNREACHABLE_RETRY_MS)} s for the unreachable grace`);
    expect(readme).toContain(`\`GetCommandInvocation\`, retried for ${seconds(LOOKUP_TIMEOUT_MS)} s`);
    expect(readme).toContain(
      `(action younger than ${minutes(PROPAGATION_WINDOW_MS)} minutes) it is retried up to ${PROPAGATION_RETRIES} times, ${seconds(PROPAGATION_RETRY_MS)} s apart`,
    );
    expect(readme).toContain(
      `\`retryMode: '${CLIENT_OPTIONS.retryMode}'\` and ${CLIENT_OPTIONS.maxAttempts} attempts`,
    );
    expect(readme).toContain(`SendCommand's \`TimeoutSeconds\` is ${DELIVERY_TIMEOUT_SECONDS}`);
    expect(readme).toContain(`would not fit SSM's ${COMMENT_LIMIT} characters`);
    expect(readme).toContain(`exceed ${MAX_ENTRY_BYTES / 1024} KB gets its report replaced`);
  });

  it('maps every module under lambda/ by its repository path', () => {
    const lambdaDir = dirname(fileURLToPath(README));
    const modules = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? modules(join(dir, entry.name))
          : entry.name.endsWith('.ts')
            ? [relative(lambdaDir, join(dir, entry.name))]
            : [],
      );
    const mapRows = readme.split('\n').filter((line) => line.startsWith('| `lambda/'));
    for (const module of modules(lambdaDir)) {
      expect(
        mapRows.some((row) => row.includes(`\`lambda/${module}\``)),
        module,
      ).toBe(true);
    }
  });
});
