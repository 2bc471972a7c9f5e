// Real shared memory behind every BAR: one anonymous memory file (memfd) per
// BAR, so processes (through the mount) and the daemon see the same bytes. A
// 32 GiB BAR costs nothing until it is written. A memfd has no name in any
// directory: no other user can predict, pre-create, replace or read it (see
// native-notes/security.md); it is gone when the daemon closes it or dies.
// Worker threads share the daemon's fd table, so they map the same fds.

import { closeSync, ftruncateSync } from 'node:fs';
import koffi from 'koffi';
import { ERRNO } from '../errno.js';

export interface BarBacking {
  /** unique per backing for the life of the daemon */
  id: number;
  /** shown in /proc/<daemon pid>/fd as memfd:<name> */
  name: string;
  fd: number;
  size: number;
}

const MFD_CLOEXEC = 0x1;
/** kernels ≥ 6.3 with vm.memfd_noexec = 2 refuse a memfd without it; older kernels refuse the flag (EINVAL) */
const MFD_NOEXEC_SEAL = 0x8;

let memfdCreate: ((name: string, flags: number) => number) | undefined;
let noexecKnown = true;

/** An empty anonymous memory file, closed on exec (mount(8) and umount(8) never inherit it). */
export function createMemfd(name: string): number {
  memfdCreate ??= koffi.load('libc.so.6').func('int memfd_create(const char *name, unsigned int flags)');
  let fd = noexecKnown ? memfdCreate(name, MFD_CLOEXEC | MFD_NOEXEC_SEAL) : -1;
  if (fd < 0 && (!noexecKnown || koffi.errno() === ERRNO.EINVAL)) {
    noexecKnown = false;
    fd = memfdCreate(name, MFD_CLOEXEC);
  }
  if (fd < 0) throw new Error(`memfd_create(${name}) failed: errno ${koffi.errno()}`);
  return fd;
}

let nextBackingId = 1;

export class BarStore {
  private readonly files = new Map<string, BarBacking>();

  /** The backing of one BAR, created (empty, sparse) on first use. */
  get(bdf: string, bar: number, size: number): BarBacking {
    const name = `p2pemu:${bdf}-bar${bar}`;
    let b = this.files.get(name);
    if (!b) {
      const fd = createMemfd(name);
      ftruncateSync(fd, size);
      b = { id: nextBackingId++, name, fd, size };
      this.files.set(name, b);
    }
    return b;
  }

  all(): BarBacking[] {
    return [...this.files.values()];
  }

  /** Closes every backing; the memory goes back once no mapping holds it. */
  destroy(): void {
    for (const b of this.files.values()) {
      try {
        closeSync(b.fd);
      } catch {
        /* already closed */
      }
    }
    this.files.clear();
  }
}
