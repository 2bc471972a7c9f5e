// The state directory (--state, default /var/lib/p2pemu/<mount point>): the
// daemon's log and the namespace images. Root's alone, checked and created
// before the daemon starts, so an unsafe or unusable directory is one line
// and exit 2 with nothing created (native-notes/security.md).

import { closeSync, constants, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRootOnlyDir, openRegular, UnsafePathError } from '../memory/index.js';
import { mountKey } from './registry.js';

export const STATE_ROOT = '/var/lib/p2pemu';
export const LOG_NAME = 'daemon.log';

export function defaultStateDir(mountpoint: string): string {
  return join(STATE_ROOT, mountKey(mountpoint));
}

function refused(dir: string, err: unknown): never {
  if (err instanceof UnsafePathError) throw new UnsafePathError(`state dir ${err.message.startsWith(`${dir}: `) ? err.message : `${dir}: ${err.message}`}`, err.code);
  throw err;
}

/**
 * Checks (creating it 0700 when missing) that only root can change the state
 * dir, and that files can be created in it: a read-only or immutable
 * directory shows here, not as a raw error in the daemon. Returns its resolved path.
 */
export function prepareStateDir(dir: string): string {
  let real: string;
  try {
    real = ensureRootOnlyDir(dir, 0o700);
  } catch (err) {
    refused(dir, err);
  }
  const probe = join(real, `.p2pemu-probe-${process.pid}`);
  try {
    closeSync(openRegular(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL));
    rmSync(probe);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'EPERM' ? `refuses new files (immutable? see lsattr -d ${real})` : `refuses new files (${code ?? (err as Error).message})`;
    throw new UnsafePathError(`state dir ${dir} ${why}`, code);
  }
  return real;
}

/** The daemon's log, appended to, never through a symlink. */
export function openDaemonLog(stateDir: string): number {
  try {
    return openRegular(join(stateDir, LOG_NAME), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  } catch (err) {
    refused(stateDir, err);
  }
}
