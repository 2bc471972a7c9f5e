// Files and directories the root daemon uses, opened so that no other user can
// steer them (native-notes/security.md): a directory is used only when root
// alone can change what its path names, and a file in it is opened without
// following a symlink. Every refusal is one line naming the path.

import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A path p2pemu refuses to use (unsafe or unusable): bad input, one line, exit 2. */
export class UnsafePathError extends Error {
  constructor(
    message: string,
    /** the errno code behind it, when an fs call failed */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

const { O_NOFOLLOW } = constants;
/** symlinks followed on the way to a directory before giving up (the kernel's MAXSYMLINKS) */
const MAX_SYMLINKS = 40;

/** One line for an fs error on `path`, in words a user acts on. */
export function pathError(path: string, err: unknown): UnsafePathError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ELOOP: 'is a symlink; p2pemu never follows symlinks in its own directories: remove it',
    EROFS: 'is on a read-only file system',
    EPERM: 'cannot be changed (operation not permitted: immutable? see lsattr)',
    EACCES: 'is not accessible (permission denied)',
    ENOENT: 'does not exist',
    ENOTDIR: 'has a component that is not a directory',
    ENOSPC: 'cannot grow: no space left on the device',
    EEXIST: 'already exists',
  };
  const known = code ? why[code] : undefined;
  return new UnsafePathError(known ? `${path} ${known}` : `${path}: ${(err as Error).message}`, code);
}

/**
 * Opens a regular file, never through a symlink in its last component (O_NOFOLLOW),
 * and refuses anything that is not a regular file (a FIFO, a device, a directory).
 */
export function openRegular(path: string, flags: number, mode = 0o600): number {
  let fd: number;
  try {
    fd = openSync(path, flags | O_NOFOLLOW, mode);
  } catch (err) {
    throw pathError(path, err);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UnsafePathError(`${path}: not a regular file`);
  }
  return fd;
}

/** Group- or world-writable and not sticky: others can rename or replace what it holds. */
function openToOthers(st: Stats): boolean {
  return (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
}

interface Step {
  name: string;
  /** the symlink this component came from, when it came from one */
  link?: string;
}

/**
 * Walks `dir` component by component as the kernel would, checking that only
 * root can change what each step names: every directory is root's and not
 * open to others (a sticky one like /tmp is fine on the way), a symlink on the
 * way is root's, and the last directory is writable by root alone (or, with
 * 'any-mode', only root's: a mount point, whose entries the mount hides). Returns the
 * resolved path, or the first missing component (undefined when the path
 * exists); a symlink to nothing is refused, never created through.
 */
export function checkRootOnlyDir(dir: string, last: 'root-only' | 'any-mode' = 'root-only'): { real: string; missing?: string } {
  const todo: Step[] = resolve(dir)
    .split('/')
    .filter(Boolean)
    .map((name) => ({ name }));
  let cur = '/';
  let hops = 0;
  while (todo.length > 0) {
    const step = todo.shift()!;
    if (step.name === '.') continue;
    if (step.name === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = cur === '/' ? `/${step.name}` : `${cur}/${step.name}`;
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw pathError(next, err);
      if (step.link) throw new UnsafePathError(`${dir}: ${step.link} is a symlink to ${readlinkSync(step.link)}, which does not exist`);
      return { real: [next, ...todo.map((s) => s.name)].join('/'), missing: next };
    }
    if (st.isSymbolicLink()) {
      if (st.uid !== 0) throw new UnsafePathError(`${dir}: ${next} is a symlink owned by uid ${st.uid}; p2pemu follows only root's symlinks to its directories`);
      if (++hops > MAX_SYMLINKS) throw new UnsafePathError(`${dir}: too many levels of symlinks`);
      const target = readlinkSync(next);
      todo.unshift(...target.split('/').filter(Boolean).map((name) => ({ name, link: next })));
      if (target.startsWith('/')) cur = '/';
      continue;
    }
    if (!st.isDirectory()) throw new UnsafePathError(`${dir}: ${next} is not a directory`);
    if (st.uid !== 0) throw new UnsafePathError(`${dir}: ${next} is owned by uid ${st.uid}; p2pemu uses only directories that root alone can change`);
    const isLast = todo.length === 0;
    if (isLast && last === 'any-mode') {
      cur = next;
      continue;
    }
    if (isLast ? (st.mode & 0o022) !== 0 : openToOthers(st)) {
      throw new UnsafePathError(`${dir}: ${next} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'}; p2pemu uses only directories that root alone can change`);
    }
    cur = next;
  }
  return { real: cur };
}

/** checkRootOnlyDir, creating what is missing (mode, e.g. 0700) and checking again: a directory another user slipped in is refused. */
export function ensureRootOnlyDir(dir: string, mode: number): string {
  const first = checkRootOnlyDir(dir);
  if (first.missing === undefined) return first.real;
  try {
    mkdirSync(first.real, { recursive: true, mode });
  } catch (err) {
    throw pathError(first.missing, err);
  }
  const again = checkRootOnlyDir(dir);
  if (again.missing !== undefined) throw new UnsafePathError(`${dir}: ${again.missing} vanished while it was created`);
  return again.real;
}
