// The drain policy (config version 1): what to prepare, which targets to stop with which schedule, what to
// run last. One source of truth: the agent validates with it, the CDK construct types its props with it and
// validates at synth time, and the README's reference is written from it.

import { errorMessage } from '../../common/errors.js';
import { pseudoRootOf } from '../host/safe-fs.js';
import { MS_PER_SECOND, parseDuration } from './duration.js';
import { DEFAULT_SCHEDULE, PRESETS, type PresetName } from './presets.js';
import { parseSchedule, type Schedule, ScheduleError } from './schedule.js';

export const POLICY_VERSION = 1;

/** Default and maximum time a prepare, finally or stop command may run. */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
export const MAX_STEP_TIMEOUT_MS = 3_600_000;
export const MAX_TARGETS = 50;
export const MAX_STEPS = 20;

/** A prepare or finally step: create a file (e.g. lava's `__nodispatch__`), or run a command (no shell). */
export type PolicyStep = { touch: string } | { run: string[]; timeout?: string };

/** Which `/proc` processes a target matches; every given criterion must hold. */
export interface ProcessMatch {
  /** Regular expression searched in the command line (arguments joined by spaces). */
  cmdline?: string;
  /** Absolute path of the executable (`/proc/PID/exe`). */
  exe?: string;
  /** User name or numeric uid (real uid). */
  user?: string | number;
  /** Absolute path of a file holding the PID. */
  pidfile?: string;
}

/** Docker containers selected by label (`key` or `key=value`) or by name. */
export interface DockerMatch {
  label?: string;
  name?: string;
}

interface TargetCommon {
  /** Unique name, used in logs, the report and `after`. */
  name: string;
  /** Schedule such as `TERM/30s/KILL/5s`; a final KILL is implied. Give either this or `preset`. */
  schedule?: string;
  /** A worker system whose conventions give the schedule (see PRESETS). */
  preset?: PresetName;
  /** Targets that must be fully stopped before this one starts. */
  after?: string[];
}

interface ProcessSelection {
  /**
   * Which processes get the schedule's signals other than KILL. `roots` (default): matched processes that
   * no other matched process descends from, since master/worker systems (nginx, gunicorn, celery) respawn
   * or abort workers that are signalled directly. `all`: every process of the target. KILL always goes to all.
   */
  scope?: 'roots' | 'all';
  /** A command to run first instead of the first signal (e.g. `app shutdown`); the schedule then follows. */
  stop?: { run: string[]; timeout?: string };
}

export type PolicyTarget = TargetCommon &
  (
    | ({ match: ProcessMatch; pidfile?: never; systemd?: never; docker?: never } & ProcessSelection)
    | ({ pidfile: string; match?: never; systemd?: never; docker?: never } & ProcessSelection)
    | { systemd: string; match?: never; pidfile?: never; docker?: never }
    | { docker: DockerMatch; match?: never; pidfile?: never; systemd?: never }
  );

/** The drain policy as users write it (JSON or the construct's props). */
export interface DrainPolicy {
  version: typeof POLICY_VERSION;
  prepare?: PolicyStep[];
  targets: PolicyTarget[];
  finally?: PolicyStep[];
}

/** A step after validation, with its timeout resolved. */
export type ResolvedStep =
  | { kind: 'touch'; path: string }
  | { kind: 'run'; argv: string[]; timeoutMs: number };

export type TargetSelector =
  | {
      kind: 'process';
      match: ProcessMatch;
      scope: 'roots' | 'all';
      stop?: { argv: string[]; timeoutMs: number };
    }
  | { kind: 'systemd'; unit: string }
  | { kind: 'docker'; label?: string; name?: string };

/** A target after validation: the selector, the parsed schedule, the names it waits for. */
export interface ResolvedTarget {
  name: string;
  selector: TargetSelector;
  schedule: Schedule;
  after: string[];
}

export interface ResolvedPolicy {
  prepare: ResolvedStep[];
  targets: ResolvedTarget[];
  finally: ResolvedStep[];
}

export interface PolicyIssue {
  /** Where, e.g. `targets[1].schedule`. */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** An invalid policy; `issues` names every problem found, not just the first. */
export class PolicyError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
    this.name = 'PolicyError';
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
// Leading `-` is refused everywhere a value reaches another program's argv, so it can never read as a flag.
const UNIT = /^[A-Za-z0-9:_.\\@*?[\]-]{1,255}$/;
const DOCKER_LABEL = /^[A-Za-z0-9][A-Za-z0-9._/-]*(=[^\s=][^\s]*|=)?$/;
const DOCKER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}\$?$/;

/** Linux's longest path, in bytes: a longer one cannot be opened. */
const PATH_MAX = 4096;

/** A value quoted in an error message is cut to this many characters, "..." included. */
const SHOW_MAX_CHARS = 80;

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > SHOW_MAX_CHARS ? `${text.slice(0, SHOW_MAX_CHARS - 3)}...` : text;
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Levenshtein distance, for "did you mean" on misspelt keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

function suggest(key: string, known: readonly string[]): string {
  const best = known
    .map((name) => ({ name, d: distance(key.toLowerCase(), name.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? `; did you mean "${best.name}"?` : `; known fields: ${known.join(', ')}`;
}

class Checker {
  readonly issues: PolicyIssue[] = [];

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  keys(value: Record<string, unknown>, path: string, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key))
        this.fail(`${path}${path ? '.' : ''}${key}`, `is not a known field${suggest(key, known)}`);
    }
  }

  string(value: unknown, path: string, pattern: RegExp, what: string): string | undefined {
    if (typeof value !== 'string') return this.fail(path, `must be a string (${what}), got ${show(value)}`);
    if (!pattern.test(value)) return this.fail(path, `${show(value)} is not ${what}`);
    return value;
  }

  absolutePath(value: unknown, path: string): string | undefined {
    if (typeof value !== 'string')
      return this.fail(path, `must be an absolute path string, got ${show(value)}`);
    if (!value.startsWith('/') || value.includes('\0') || value.length > PATH_MAX) {
      return this.fail(path, `${show(value)} must be an absolute path, e.g. "/run/app/no-dispatch"`);
    }
    return value;
  }

  /** An absolute path the agent writes to: never on the kernel's pseudo file systems (see safe-fs.ts). */
  writablePath(value: unknown, path: string): string | undefined {
    const absolute = this.absolutePath(value, path);
    const root = absolute === undefined ? undefined : pseudoRootOf(absolute);
    if (root === undefined) return absolute;
    return this.fail(
      path,
      `${show(value)} is under ${root}, which the kernel provides: a drain writes nothing there; choose a path such as "/run/app/no-dispatch"`,
    );
  }

  duration(value: unknown, path: string, maxMs: number): number | undefined {
    const ms =
      typeof value === 'string' || typeof value === 'number' ? parseDuration(String(value)) : undefined;
    if (ms === undefined)
      return this.fail(path, `${show(value)} is not a duration; write e.g. "30s", "10m", "500ms"`);
    if (ms > maxMs) return this.fail(path, `${show(value)} is too long; at most ${maxMs / MS_PER_SECOND}s`);
    return ms;
  }

  argv(value: unknown, path: string): string[] | undefined {
    if (!Array.isArray(value) || value.length === 0 || value.some((arg) => typeof arg !== 'string')) {
      return this.fail(
        path,
        `must be a non-empty array of strings (the program and its arguments, no shell), got ${show(value)}`,
      );
    }
    const [program] = value as string[];
    if (!program || program.startsWith('-') || program.includes('\0')) {
      return this.fail(`${path}[0]`, `${show(program)} is not a program; give a path or a command name`);
    }
    return value as string[];
  }

  timedRun(value: Record<string, unknown>, path: string): { argv: string[]; timeoutMs: number } | undefined {
    const argv = this.argv(value.run, `${path}.run`);
    const timeoutMs =
      value.timeout === undefined
        ? DEFAULT_STEP_TIMEOUT_MS
        : this.duration(value.timeout, `${path}.timeout`, MAX_STEP_TIMEOUT_MS);
    return argv && timeoutMs !== undefined ? { argv, timeoutMs } : undefined;
  }

  steps(value: unknown, path: string): ResolvedStep[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return this.fail(path, `must be an array of steps, got ${show(value)}`) ?? [];
    if (value.length > MAX_STEPS) this.fail(path, `has ${value.length} steps; at most ${MAX_STEPS}`);
    const steps: ResolvedStep[] = [];
    for (const [index, step] of value.entries()) {
      const at = `${path}[${index}]`;
      if (!isObject(step)) {
        this.fail(
          at,
          `must be {"touch": "/path"} or {"run": ["cmd", "arg"], "timeout": "30s"}, got ${show(step)}`,
        );
        continue;
      }
      if ('touch' in step) {
        this.keys(step, at, ['touch']);
        const path = this.writablePath(step.touch, `${at}.touch`);
        if (path) steps.push({ kind: 'touch', path });
      } else if ('run' in step) {
        this.keys(step, at, ['run', 'timeout']);
        const run = this.timedRun(step, at);
        if (run) steps.push({ kind: 'run', ...run });
      } else {
        this.fail(at, `must have "touch" or "run", got ${show(step)}`);
      }
    }
    return steps;
  }

  match(value: unknown, path: string): ProcessMatch | undefined {
    if (!isObject(value))
      return this.fail(path, `must be an object such as {"cmdline": "my-worker"}, got ${show(value)}`);
    this.keys(value, path, ['cmdline', 'exe', 'user', 'pidfile']);
    const match: ProcessMatch = {};
    if (value.cmdline !== undefined) {
      if (typeof value.cmdline !== 'string' || value.cmdline === '') {
        this.fail(
          `${path}.cmdline`,
          `must be a non-empty regular expression string, got ${show(value.cmdline)}`,
        );
      } else {
        try {
          new RegExp(value.cmdline);
          match.cmdline = value.cmdline;
        } catch (error) {
          this.fail(
            `${path}.cmdline`,
            `${show(value.cmdline)} is not a valid regular expression: ${errorMessage(error)}`,
          );
        }
      }
    }
    if (value.exe !== undefined) match.exe = this.absolutePath(value.exe, `${path}.exe`);
    if (value.pidfile !== undefined) match.pidfile = this.absolutePath(value.pidfile, `${path}.pidfile`);
    if (value.user !== undefined) {
      if (typeof value.user === 'number' && Number.isInteger(value.user) && value.user >= 0)
        match.user = value.user;
      else match.user = this.string(value.user, `${path}.user`, USER_NAME, 'a user name or a numeric uid');
    }
    if (
      value.cmdline === undefined &&
      value.exe === undefined &&
      value.user === undefined &&
      value.pidfile === undefined
    ) {
      return this.fail(path, 'is empty; give at least one of cmdline, exe, user, pidfile');
    }
    return match;
  }

  selector(target: Record<string, unknown>, path: string): TargetSelector | undefined {
    const given = (['match', 'pidfile', 'systemd', 'docker'] as const).filter(
      (key) => target[key] !== undefined,
    );
    if (given.length !== 1) {
      return this.fail(
        path,
        given.length === 0
          ? 'selects nothing; give one of "match", "pidfile", "systemd", "docker"'
          : `gives ${given.join(' and ')}; give exactly one (put several criteria inside "match")`,
      );
    }
    const [kind] = given;
    if (kind === 'systemd' || kind === 'docker') {
      for (const key of ['scope', 'stop'] as const) {
        if (target[key] !== undefined)
          this.fail(`${path}.${key}`, `applies to process targets only, not to ${kind} targets`);
      }
    }
    if (kind === 'systemd') return this.systemdSelector(target.systemd, `${path}.systemd`);
    if (kind === 'docker') return this.dockerSelector(target.docker, `${path}.docker`);
    return this.processSelector(target, path, kind);
  }

  systemdSelector(value: unknown, path: string): TargetSelector | undefined {
    const unit = this.string(value, path, UNIT, 'a systemd unit name or glob, e.g. "worker@*.service"');
    if (unit?.startsWith('-')) return this.fail(path, `${show(unit)} must not start with "-"`);
    return unit ? { kind: 'systemd', unit } : undefined;
  }

  dockerSelector(docker: unknown, path: string): TargetSelector | undefined {
    if (!isObject(docker)) {
      return this.fail(path, `must be {"label": "key=value"} or {"name": "container"}, got ${show(docker)}`);
    }
    this.keys(docker, path, ['label', 'name']);
    if ((docker.label === undefined) === (docker.name === undefined)) {
      return this.fail(path, 'give exactly one of "label" and "name"');
    }
    if (docker.label !== undefined) {
      const label = this.string(
        docker.label,
        `${path}.label`,
        DOCKER_LABEL,
        'a label filter "key" or "key=value"',
      );
      return label ? { kind: 'docker', label } : undefined;
    }
    const name = this.string(docker.name, `${path}.name`, DOCKER_NAME, 'a container name');
    return name ? { kind: 'docker', name } : undefined;
  }

  processSelector(
    target: Record<string, unknown>,
    path: string,
    kind: 'match' | 'pidfile' | undefined,
  ): TargetSelector | undefined {
    const pidfile = kind === 'pidfile' ? this.absolutePath(target.pidfile, `${path}.pidfile`) : undefined;
    const match =
      kind === 'pidfile' ? (pidfile ? { pidfile } : undefined) : this.match(target.match, `${path}.match`);
    const scope = this.scope(target.scope, `${path}.scope`);
    const stop = target.stop === undefined ? undefined : this.stop(target.stop, `${path}.stop`);
    if (!match) return undefined;
    return stop ? { kind: 'process', match, scope, stop } : { kind: 'process', match, scope };
  }

  scope(value: unknown, path: string): 'roots' | 'all' {
    if (value === undefined || value === 'roots' || value === 'all') return value ?? 'roots';
    this.fail(path, `must be "roots" or "all", got ${show(value)}`);
    return 'roots';
  }

  stop(value: unknown, path: string): { argv: string[]; timeoutMs: number } | undefined {
    if (!isObject(value)) {
      return this.fail(path, `must be {"run": ["cmd", "arg"], "timeout": "30s"}, got ${show(value)}`);
    }
    this.keys(value, path, ['run', 'timeout']);
    return this.timedRun(value, path);
  }

  schedule(target: Record<string, unknown>, path: string): Schedule | undefined {
    if (target.schedule !== undefined && target.preset !== undefined) {
      return this.fail(path, 'gives both "schedule" and "preset"; give one (a preset is a named schedule)');
    }
    let text = DEFAULT_SCHEDULE;
    let at = `${path}.schedule`;
    if (target.preset !== undefined) {
      at = `${path}.preset`;
      const preset =
        typeof target.preset === 'string'
          ? (PRESETS as Record<string, { schedule: string }>)[target.preset]
          : undefined;
      if (!preset || !Object.hasOwn(PRESETS, target.preset as string)) {
        return this.fail(
          at,
          `${show(target.preset)} is not a preset; known presets: ${Object.keys(PRESETS).join(', ')}`,
        );
      }
      text = preset.schedule;
    } else if (target.schedule !== undefined) {
      if (typeof target.schedule !== 'string') {
        return this.fail(at, `must be a string such as "TERM/30s/KILL/5s", got ${show(target.schedule)}`);
      }
      text = target.schedule;
    }
    try {
      return parseSchedule(text);
    } catch (error) {
      if (error instanceof ScheduleError)
        return this.fail(at, `${show(text)} is not a valid schedule: ${error.message}`);
      throw error;
    }
  }

  target(value: unknown, path: string): ResolvedTarget | undefined {
    if (!isObject(value))
      return this.fail(path, `must be an object with "name" and a selector, got ${show(value)}`);
    this.keys(value, path, [
      'name',
      'match',
      'pidfile',
      'systemd',
      'docker',
      'schedule',
      'preset',
      'after',
      'scope',
      'stop',
    ]);
    const name = this.string(
      value.name,
      `${path}.name`,
      NAME,
      'a name of letters, digits, "_", "." or "-" (at most 63)',
    );
    const selector = this.selector(value, path);
    const schedule = this.schedule(value, path);
    let after: string[] = [];
    if (value.after !== undefined) {
      if (!Array.isArray(value.after) || value.after.some((entry) => typeof entry !== 'string')) {
        this.fail(`${path}.after`, `must be an array of target names, got ${show(value.after)}`);
      } else {
        after = value.after as string[];
      }
    }
    return name && selector && schedule ? { name, selector, schedule, after } : undefined;
  }

  order(targets: ResolvedTarget[]): void {
    const index = new Map<string, number>();
    for (const [i, target] of targets.entries()) if (!index.has(target.name)) index.set(target.name, i);
    for (const [i, target] of targets.entries()) {
      if (index.get(target.name) !== i)
        this.fail(
          `targets[${i}].name`,
          `${show(target.name)} is used by an earlier target; names must be unique`,
        );
      for (const [j, name] of target.after.entries()) {
        if (name === target.name) this.fail(`targets[${i}].after[${j}]`, 'a target cannot wait for itself');
        else if (!index.has(name))
          this.fail(
            `targets[${i}].after[${j}]`,
            `${show(name)} is not the name of a target; known: ${[...index.keys()].join(', ')}`,
          );
      }
    }
    // A cycle would make the drain wait forever: find one with a depth-first walk.
    const state = new Map<string, 'visiting' | 'done'>();
    const byName = new Map(targets.map((target) => [target.name, target]));
    const visit = (name: string, trail: string[]): boolean => {
      if (state.get(name) === 'done') return false;
      if (state.get(name) === 'visiting') {
        this.fail(
          'targets',
          `"after" makes a cycle: ${[...trail.slice(trail.indexOf(name)), name].join(' → ')}`,
        );
        return true;
      }
      state.set(name, 'visiting');
      for (const next of byName.get(name)?.after ?? [])
        if (byName.has(next) && next !== name && visit(next, [...trail, name])) return true;
      state.set(name, 'done');
      return false;
    };
    for (const target of targets) if (visit(target.name, [])) break;
  }
}

/** Validates a parsed policy; returns it resolved, or throws PolicyError naming every problem. */
export function resolvePolicy(input: unknown): ResolvedPolicy {
  const check = new Checker();
  if (!isObject(input))
    throw new PolicyError([
      { path: '(policy)', message: `must be a JSON object with "version" and "targets", got ${show(input)}` },
    ]);
  check.keys(input, '', ['version', 'prepare', 'targets', 'finally']);
  if (input.version !== POLICY_VERSION) {
    check.fail(
      'version',
      `must be ${POLICY_VERSION}, got ${show(input.version)}; this agent understands config version ${POLICY_VERSION}`,
    );
  }
  const prepare = check.steps(input.prepare, 'prepare');
  const final = check.steps(input.finally, 'finally');
  const targets: ResolvedTarget[] = [];
  if (!Array.isArray(input.targets) || input.targets.length === 0) {
    check.fail('targets', `must be a non-empty array of targets, got ${show(input.targets)}`);
  } else {
    if (input.targets.length > MAX_TARGETS)
      check.fail('targets', `has ${input.targets.length} targets; at most ${MAX_TARGETS}`);
    for (const [index, target] of input.targets.entries()) {
      const resolved = check.target(target, `targets[${index}]`);
      if (resolved) targets.push(resolved);
    }
    if (targets.length === input.targets.length) check.order(targets);
  }
  if (check.issues.length > 0) throw new PolicyError(check.issues);
  return { prepare, targets, finally: final };
}

/** Parses policy JSON text; a syntax error becomes a PolicyError too. */
export function parsePolicyJson(text: string): ResolvedPolicy {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new PolicyError([{ path: '(policy)', message: `is not valid JSON: ${errorMessage(error)}` }]);
  }
  return resolvePolicy(input);
}
