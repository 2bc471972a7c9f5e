// Positional I/O into and out of memory known only by its address (memory
// another thread mapped, e.g. a FUSE-over-io_uring entry's payload): pread(2)
// and pwrite(2) through koffi, whole lengths, errors as -errno.

import koffi from 'koffi';

interface Calls {
  pread: (fd: number, address: bigint, len: number, position: number) => number | bigint;
  pwrite: (fd: number, address: bigint, len: number, position: number) => number | bigint;
}
let calls: Calls | undefined;

function lib(): Calls {
  if (!calls) {
    const l = koffi.load('libc.so.6');
    calls = {
      pread: l.func('intptr_t pread(int fd, uintptr_t buf, size_t len, int64_t offset)') as never,
      pwrite: l.func('intptr_t pwrite(int fd, uintptr_t buf, size_t len, int64_t offset)') as never,
    };
  }
  return calls;
}

/**
 * Reads (write false) or writes len bytes at position of fd into or out of the
 * memory at address, looping over short counts: the bytes moved (fewer on a
 * read at end of file), or -errno.
 */
export function copyAtAddress(write: boolean, fd: number, address: bigint, len: number, position: number): number {
  const call = write ? lib().pwrite : lib().pread;
  let done = 0;
  while (done < len) {
    const n = Number(call(fd, address + BigInt(done), len - done, position + done));
    if (n < 0) return -koffi.errno();
    if (n === 0) break;
    done += n;
  }
  return done;
}
