// Live mounts, one JSON file each under /run/p2pemu, so `status` and
// `unmount` can find the daemon that serves a mount point. The directory must
// be one only root can change (a forged record would name a process to
// signal), files are never reached through symlinks, and each record names
// its daemon by pid, start time and command line (daemon-identity.ts).

import { closeSync, constants, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { checkRootOnlyDir, ensureRootOnlyDir, openRegular, UnsafePathError } from '../memory/index.js';
import { isSameProcess, type ProcessIdentity } from './daemon-identity.js';

export const REGISTRY_DIR = process.env.P2PEMU_RUN_DIR ?? '/run/p2pemu';

export interface MountRecord {
  /** the daemon: pid, start time and command line */
  daemon: ProcessIdentity;
  mountpoint: string;
  topology: string;
  stateDir: string;
  logFile: string | undefined;
  started: string;
  /** the daemon's control socket (daemon/control.ts); absent: it has none */
  control?: string;
}

/** Longest file name we build from a mount point; longer ones are hashed. */
const NAME_MAX_ENCODED = 200;

/**
 * A file name for a mount point that no other mount point shares: every byte
 * outside [A-Za-z0-9._-] is written %XX, '%' included, so the encoding can be
 * read back and two paths never meet (/a/x_y and /a/x/y stay apart). Names too
 * long for a directory entry become a SHA-256, which cannot look like an
 * encoded absolute path (those start with %2F).
 */
export function mountKey(mountpoint: string): string {
  const abs = resolve(mountpoint);
  let out = '';
  for (const byte of Buffer.from(abs, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out.length <= NAME_MAX_ENCODED ? out : `sha256-${createHash('sha256').update(abs).digest('hex')}`;
}

function recordPath(mountpoint: string): string {
  return join(REGISTRY_DIR, `${mountKey(mountpoint)}.json`);
}

/** The registry directory, when it exists and only root can change it (anything else is refused). */
function registryDir(): string | undefined {
  return checkRootOnlyDir(REGISTRY_DIR).missing === undefined ? REGISTRY_DIR : undefined;
}

function readJson(path: string): MountRecord | undefined {
  let fd: number;
  try {
    fd = openRegular(path, constants.O_RDONLY);
  } catch (err) {
    if (err instanceof UnsafePathError && err.code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const rec = JSON.parse(readFileSync(fd, 'utf8')) as MountRecord;
    return typeof rec.mountpoint === 'string' && rec.daemon && typeof rec.daemon.pid === 'number' ? rec : undefined;
  } catch {
    return undefined; // half-written or from an older p2pemu
  } finally {
    closeSync(fd);
  }
}

/** Written to a fresh file and renamed into place, so a reader never sees half a record. */
export function writeRecord(rec: MountRecord): void {
  ensureRootOnlyDir(REGISTRY_DIR, 0o755);
  const final = recordPath(rec.mountpoint);
  const tmp = `${final}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const fd = openRegular(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    writeSync(fd, JSON.stringify(rec, null, 2) + '\n');
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, final);
}

export function readRecord(mountpoint: string): MountRecord | undefined {
  if (!registryDir()) return undefined;
  const rec = readJson(recordPath(mountpoint));
  return rec?.mountpoint === resolve(mountpoint) ? rec : undefined;
}

/** Removes the record of a mount point; with `daemon`, only while the record is that daemon's. */
export function removeRecord(mountpoint: string, daemon?: ProcessIdentity): void {
  const rec = readRecord(mountpoint);
  if (daemon && rec && (rec.daemon.pid !== daemon.pid || rec.daemon.startTime !== daemon.startTime)) return; // someone else's mount now
  if (registryDir()) rmSync(recordPath(mountpoint), { force: true });
}

export function listRecords(): MountRecord[] {
  const dir = registryDir();
  if (!dir) return [];
  const out: MountRecord[] = [];
  for (const n of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const rec = readJson(join(dir, n));
    if (rec) out.push(rec);
  }
  return out;
}

/**
 * The record's daemon still runs: same pid, start time and command line, and
 * that command line is a p2pemu daemon for this mount point (a forged or stale
 * record never makes another process look like ours).
 */
export function daemonAlive(rec: MountRecord): boolean {
  const args = rec.daemon.cmdline;
  const looksLikeOurs = args.includes('mount') && args.includes('--foreground') && args.some((a) => resolve(a) === rec.mountpoint);
  return looksLikeOurs && isSameProcess(rec.daemon);
}
