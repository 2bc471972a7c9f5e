// Shared mappings of backing files through libc mmap (koffi), usable in any
// worker thread: Node has no mmap, and mmap-io cannot load in workers.
// V8 counts every view as external memory for as long as it is referenced: a
// worker that kept 1 GiB views of a 32 GiB BAR died "out of memory" with its
// request unanswered. So windows are 256 MiB, a thread keeps the few it used
// last, and unmaps the rest (nothing refers to a window after its request).

import koffi from 'koffi';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

export const WINDOW_SHIFT = 28;
export const WINDOW_SIZE = 2 ** WINDOW_SHIFT;
/** windows a thread keeps mapped (at most 2 GiB of views counted by V8) */
const WINDOWS_KEPT = 8;

interface Libc {
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  munmap: (addr: unknown, len: number) => number;
}
let libc: Libc | undefined;

function lib(): Libc {
  if (!libc) {
    const l = koffi.load('libc.so.6');
    libc = {
      mmap: l.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
      munmap: l.func('int munmap(void *addr, size_t len)'),
    };
  }
  return libc;
}

export interface Mapping {
  buf: Buffer;
  unmap(): void;
}

/** Maps [offset, offset+len) of fd shared and writable: a Buffer over it (no copy) and its unmapping. */
export function mapShared(fd: number, offset: number, len: number): Mapping {
  const ptr = lib().mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  if (koffi.address(ptr as never) === MAP_FAILED) throw new Error(`mmap of fd ${fd} at ${offset} (+${len}) failed`);
  // the Buffer must not be touched after unmap()
  return { buf: Buffer.from(koffi.view(ptr, len)), unmap: () => void lib().munmap(ptr, len) };
}

/**
 * Windows of backing files, mapped on first use, the least recently used
 * unmapped beyond WINDOWS_KEPT. Keyed by a backing id, never by fd: fd numbers
 * are reused. Callers must not keep a window past the request it served.
 */
export class WindowCache {
  private readonly windows = new Map<number, Mapping>();

  /**
   * The window holding byte `offset` of the file (offset % WINDOW_SIZE inside it).
   * Always a whole window, whatever the caller's file size: handles of different
   * extents share windows of one backing (allocations in one BAR), and a window
   * cut short for one of them once sent a reader round in circles for another.
   * Mapping past the end of a file is allowed; nothing reads there.
   */
  window(id: number, fd: number, offset: number): Buffer {
    const index = Math.floor(offset / WINDOW_SIZE);
    const key = id * 2 ** 20 + index;
    let w = this.windows.get(key);
    if (w) {
      this.windows.delete(key); // re-insert: most recently used last
    } else {
      w = mapShared(fd, index * WINDOW_SIZE, WINDOW_SIZE);
      if (this.windows.size >= WINDOWS_KEPT) {
        const [oldKey, old] = this.windows.entries().next().value as [number, Mapping];
        this.windows.delete(oldKey);
        old.unmap();
      }
    }
    this.windows.set(key, w);
    return w.buf;
  }
}
