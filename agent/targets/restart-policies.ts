// Putting back the restart policies a drain turned off. `docker update` is permanent: a warm-pool instance
// started again would keep every container at `no`. A policy goes back only on a stopped container (docker
// would restart a running one once it exits), and starts nothing; at the next boot a container `docker
// kill` marked manually stopped comes back only under `always` (or `on-failure` after a non-zero exit).

import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { onlyGone } from './docker-target.js';
import { cli } from './supervised-target.js';

/** Restart policies by target name, then container id (DrainState.restartPolicies). */
export type RestartPoliciesByTarget = Record<string, Record<string, string>>;

/** What is left to put back, and what failed, by target. */
interface Ledger {
  byTarget: RestartPoliciesByTarget;
  /** The policy to put back, by container id (those at `no` before the drain have nothing to put back). */
  policyOf: Map<string, string>;
  /** A container two targets select has an entry under each. */
  targetsOf: Map<string, string[]>;
  failed: Map<string, string>;
}

export interface RestoreOptions {
  /** Restore running containers too: the drain was undone and the instance may go back into service. */
  includeRunning?: boolean;
}

/**
 * Puts back the policies in `byTarget`, one `docker update` per policy, on the containers that have
 * stopped. Restored and removed containers leave `byTarget`; a running one keeps `no` and its entry, as
 * does one whose update failed. Never throws. Returns, by target name, what failed (for the report).
 */
export async function restoreRestartPolicies(
  byTarget: RestartPoliciesByTarget,
  log: Logger,
  { includeRunning = false }: RestoreOptions = {},
): Promise<Map<string, string>> {
  const ledger = ledgerOf(byTarget);
  forget(
    ledger,
    [...ledger.targetsOf.keys()].filter((id) => !ledger.policyOf.has(id)),
  );
  const ids = [...ledger.policyOf.keys()];
  if (ids.length === 0) return ledger.failed;
  let found: { present: Set<string>; running: Set<string> };
  try {
    found = await inspectContainers(ids, includeRunning);
  } catch (error) {
    // Whatever failed (cli only throws CliError), it must not cost the drain its report.
    const message = errorMessage(error);
    log.log('warn', 'cannot restore the restart policy of drained containers', {
      containers: ids,
      error: message,
    });
    fail(ledger, ids, `restart policies not restored: ${message}`);
    return ledger.failed;
  }
  forget(
    ledger,
    ids.filter((id) => !found.present.has(id)),
  );
  const stillRunning = ids.filter((id) => found.running.has(id));
  if (stillRunning.length > 0) {
    log.log('warn', 'restart policy left at no: the container is still running', {
      containers: stillRunning.map((id) => ({ id, restart: ledger.policyOf.get(id) })),
    });
  }
  const stopped = ids.filter((id) => found.present.has(id) && !found.running.has(id));
  for (const [policy, group] of groupByPolicy(ledger, stopped))
    await restorePolicy(ledger, policy, group, log);
  return ledger.failed;
}

function ledgerOf(byTarget: RestartPoliciesByTarget): Ledger {
  const ledger: Ledger = { byTarget, policyOf: new Map(), targetsOf: new Map(), failed: new Map() };
  for (const [target, byId] of Object.entries(byTarget)) {
    for (const [id, policy] of Object.entries(byId)) {
      ledger.targetsOf.set(id, [...(ledger.targetsOf.get(id) ?? []), target]);
      // The second target to select a container found it at `no` already.
      if (policy !== 'no') ledger.policyOf.set(id, policy);
    }
  }
  return ledger;
}

function forget(ledger: Ledger, ids: Iterable<string>): void {
  for (const id of ids)
    for (const target of ledger.targetsOf.get(id) ?? []) delete ledger.byTarget[target]?.[id];
}

function fail(ledger: Ledger, ids: string[], message: string): void {
  for (const target of new Set(ids.flatMap((id) => ledger.targetsOf.get(id) ?? []))) {
    const before = ledger.failed.get(target);
    ledger.failed.set(target, before ? `${before}; ${message}` : message);
  }
}

/** Which containers still exist, and which of those run (none, with `includeRunning`). */
async function inspectContainers(
  ids: string[],
  includeRunning: boolean,
): Promise<{ present: Set<string>; running: Set<string> }> {
  const present = new Set<string>();
  const running = new Set<string>();
  // A container removed meanwhile (--rm) has no policy left to put back: not a failure.
  const { stdout } = await cli(
    ['docker', 'inspect', '--format', '{{.Id}} {{.State.Running}}', '--', ...ids],
    (r) => r.exitCode === 0 || onlyGone(r),
  );
  for (const line of stdout.split('\n')) {
    const [id, state] = line.trim().split(' ');
    if (!id) continue;
    present.add(id);
    if (state !== 'false' && !includeRunning) running.add(id);
  }
  return { present, running };
}

function groupByPolicy(ledger: Ledger, ids: string[]): Map<string, string[]> {
  const byPolicy = new Map<string, string[]>();
  for (const id of ids) {
    const policy = ledger.policyOf.get(id) as string;
    byPolicy.set(policy, [...(byPolicy.get(policy) ?? []), id]);
  }
  return byPolicy;
}

async function restorePolicy(ledger: Ledger, policy: string, ids: string[], log: Logger): Promise<void> {
  try {
    await cli(
      ['docker', 'update', `--restart=${policy}`, '--', ...ids],
      (r) => r.exitCode === 0 || onlyGone(r),
    );
    forget(ledger, ids);
    log.log('info', 'restart policy restored', { restart: policy, containers: ids.length });
  } catch (error) {
    const message = errorMessage(error);
    log.log('warn', 'cannot restore the restart policy of drained containers', {
      restart: policy,
      containers: ids,
      error: message,
    });
    fail(ledger, ids, `restart policy ${policy} not restored: ${message}`);
  }
}
