// Shared mappings of backing files through libc mmap (koffi), usable in any
// worker thread: Node has no mmap, and mmap-io cannot load in workers.
// Views are windows of at most 1 GiB (a Buffer holds at most 4 GiB in Node 20).

import koffi from 'koffi';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

export const WINDOW_SHIFT = 30;
export const WINDOW_SIZE = 2 ** WINDOW_SHIFT;

let libcMmap: ((addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown) | undefined;

function mmapFn() {
  libcMmap ??= koffi.load('libc.so.6').func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)');
  return libcMmap!;
}

/** Maps [offset, offset+len) of fd shared and writable, and returns a Buffer over it (no copy). */
export function mapShared(fd: number, offset: number, len: number): Buffer {
  const ptr = mmapFn()(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  if (koffi.address(ptr) === MAP_FAILED) throw new Error(`mmap of fd ${fd} at ${offset} (+${len}) failed`);
  return Buffer.from(koffi.view(ptr, len));
}

/**
 * 1 GiB windows of backing files, mapped on first use and kept for the life of
 * the thread. Keyed by a backing id, never by fd: fd numbers are reused.
 */
export class WindowCache {
  private readonly windows = new Map<number, Buffer>();

  /** The window holding byte `offset` of the file, and the offset inside it. */
  window(id: number, fd: number, fileSize: number, offset: number): Buffer {
    const index = Math.floor(offset / WINDOW_SIZE);
    const key = id * 65536 + index;
    let w = this.windows.get(key);
    if (!w) {
      const start = index * WINDOW_SIZE;
      w = mapShared(fd, start, Math.min(WINDOW_SIZE, fileSize - start));
      this.windows.set(key, w);
    }
    return w;
  }
}
