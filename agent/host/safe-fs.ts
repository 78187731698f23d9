// File-system steps that always end. Node's recursive mkdirSync never returns on a path under /proc (mkdir
// there fails with ENOENT for a parent that exists, and Node keeps retrying the parent): one synchronous call
// would hold the event loop, and with it every signal handler and the deadline, forever. So paths on the
// kernel's pseudo file systems are refused up front, and directories are created by a loop with a bound.

import { closeSync, mkdirSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, normalize } from 'node:path';
import { errorCode } from '../../common/errors.js';

/** Folders the kernel provides: nothing of a drain's (state, markers, drop-ins) belongs there. */
export const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'] as const;

/** File systems no drain writes to, whatever folder they are mounted on (proc(5) /proc/self/mountinfo). */
const PSEUDO_FS_TYPES = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'debugfs',
  'tracefs',
  'securityfs',
  'configfs',
  'bpf',
  'pstore',
  'efivarfs',
  'fusectl',
  'binfmt_misc',
]);

/** The deepest path the agent creates folders for; no real path needs more. */
export const MAX_PATH_DEPTH = 64;

/** The most of /proc/self/mountinfo read: a host with a pathological mount table must not stall the check. */
const MOUNTINFO_MAX_BYTES = 1024 * 1024;

/** The pseudo root `path` is under, by its text alone (no file-system access: usable at synth). */
export function pseudoRootOf(path: string): string | undefined {
  const clean = normalize(path);
  return PSEUDO_ROOTS.find((root) => clean === root || clean.startsWith(`${root}/`));
}

/** The first ancestor of `path` (itself included) that exists, within MAX_PATH_DEPTH steps. */
function nearestExisting(path: string): string | undefined {
  let current = normalize(path);
  for (let depth = 0; depth <= MAX_PATH_DEPTH; depth++) {
    try {
      statSync(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return undefined;
      current = parent;
    }
  }
  return undefined;
}

/** Mount points with their file-system type, longest first; empty when mountinfo cannot be read. */
function mounts(): { point: string; type: string }[] {
  let text = '';
  const fd = (() => {
    try {
      return openSync('/proc/self/mountinfo', 'r');
    } catch {
      return undefined;
    }
  })();
  if (fd === undefined) return [];
  try {
    const buffer = Buffer.alloc(MOUNTINFO_MAX_BYTES);
    const length = readSync(fd, buffer, 0, buffer.length, null);
    text = buffer.subarray(0, length).toString('utf8');
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
  const unescapeOctal = (field: string) =>
    field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(Number.parseInt(octal, 8)));
  const found: { point: string; type: string }[] = [];
  for (const line of text.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": point is field 5, type follows " - ".
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    const point = fields[4];
    const type = dash >= 0 ? fields[dash + 1] : undefined;
    if (point && type) found.push({ point: unescapeOctal(point), type });
  }
  return found.sort((a, b) => b.point.length - a.point.length);
}

/**
 * Why the agent must not write under `path`, or undefined when it may: the path is under /proc, /sys or
 * /dev, or (resolving symbolic links of the part that exists) on a pseudo file system mounted elsewhere.
 */
export function pseudoFsProblem(path: string): string | undefined {
  const root = pseudoRootOf(path);
  if (root) return `${path} is under ${root}, which the kernel provides`;
  const existing = nearestExisting(path);
  if (existing === undefined) return undefined;
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // Unreadable: judge the path as written.
  }
  const realRoot = pseudoRootOf(real);
  if (realRoot) return `${path} resolves to ${real}, under ${realRoot}, which the kernel provides`;
  const mount = mounts().find(({ point }) => point === '/' || real === point || real.startsWith(`${point}/`));
  if (mount && PSEUDO_FS_TYPES.has(mount.type))
    return `${path} is on a ${mount.type} file system (mounted on ${mount.point}), which the kernel provides`;
  return undefined;
}

/**
 * mkdir -p with a bound: creates the missing folders of `path` one by one, from the nearest existing
 * ancestor down, at most MAX_PATH_DEPTH of them. Throws the first error (ENOENT, EACCES, ENOTDIR …).
 */
export function makeDirs(path: string, mode = 0o777): void {
  const missing: string[] = [];
  let current = normalize(path);
  for (;;) {
    try {
      if (statSync(current).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), { code: 'ENOTDIR' });
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    missing.push(current);
    if (missing.length > MAX_PATH_DEPTH)
      throw Object.assign(
        new Error(`ENAMETOOLONG: more than ${MAX_PATH_DEPTH} folders to create for '${path}'`),
        {
          code: 'ENAMETOOLONG',
        },
      );
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode });
    } catch (error) {
      // A concurrent drain created it meanwhile: fine.
      if (errorCode(error) !== 'EEXIST') throw error;
    }
  }
}
