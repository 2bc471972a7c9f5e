// A tiny tree served by this test process over a real FUSE mount: the test is
// the daemon, so it may drive the mount only asynchronously (child processes
// it awaits), never with a synchronous call into it.

import { closeSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { mounted, sh, tempDir } from './helpers.js';
// the session starts worker threads from compiled files: use the build
import { FuseSession, type FuseSessionOptions } from '../../dist/fuse/session.js';
import { InodeTable, Vfs } from '../../dist/vfs/index.js';

export interface InProcessMount {
  mnt: string;
  session: FuseSession;
  table: InodeTable;
  /** the backing file's fd (a temp file of `size` bytes, zeros) */
  backingFd: number;
  /** a DirectBacking over the whole backing file */
  backing: () => { id: number; fd: number; offset: number; size: number; writable: boolean };
  unmount(): Promise<void>;
}

type Built = Omit<InProcessMount, 'session' | 'unmount'>;

/**
 * Mounts the nodes `build` adds to a fresh tree (each may use the one backing
 * file); `build` may return session options that depend on them.
 */
export async function mountInProcess(size: number, build: (m: Built) => Partial<FuseSessionOptions> | void, opts: Partial<FuseSessionOptions> & { log?: Logger } = {}): Promise<InProcessMount> {
  const mnt = tempDir('p2pemu-inproc-');
  const dir = tempDir('p2pemu-inproc-backing-');
  const backingFd = openSync(join(dir, 'backing'), 'w+');
  ftruncateSync(backingFd, size);
  const table = new InodeTable();
  const backing = () => ({ id: 1, fd: backingFd, offset: 0, size, writable: true });
  const more = build({ mnt, table, backingFd, backing });
  const session = new FuseSession(new Vfs(table), { mountpoint: mnt, fsname: 'p2pemu-test', log: pino({ level: 'silent' }), ...opts, ...more });
  await session.mount();
  return {
    mnt,
    session,
    table,
    backingFd,
    backing,
    async unmount() {
      await session.unmount();
      if (mounted(mnt)) sh(`umount -l '${mnt}'`);
      closeSync(backingFd);
      rmSync(dir, { recursive: true, force: true });
      rmSync(mnt, { recursive: true, force: true });
    },
  };
}
