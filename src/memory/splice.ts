// Replies whose data comes straight from a backing file, without mapping it:
// the header is written into a pipe, the file's pages are spliced in after it
// (page references, no copy), and the pipe is spliced into /dev/fuse, where
// the kernel copies the pages to the caller (fuse_dev_splice_write(),
// fs/fuse/dev.c) — the one copy a mapped window gave, with no page tables in
// the daemon (a thread's windows were counted in its RSS page by page, four
// times over with four readers; make bench, native-notes/performance.md).
// libfuse answers reads the same way (fuse_send_data_iov with splice).

import koffi from 'koffi';
import { lastCallError } from './native-error.js';

const F_SETPIPE_SZ = 1031;
const O_CLOEXEC = 0o2000000;
const SPLICE_F_MOVE = 1;

interface Calls {
  pipe2: (fds: Int32Array, flags: number) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
  splice: (fdIn: number, offIn: BigInt64Array | null, fdOut: number, offOut: BigInt64Array | null, len: number, flags: number) => number | bigint;
  write: (fd: number, buf: Buffer, len: number) => number | bigint;
  read: (fd: number, buf: Buffer, len: number) => number | bigint;
  close: (fd: number) => number;
}
let calls: Calls | undefined;

function lib(): Calls {
  if (!calls) {
    const l = koffi.load('libc.so.6');
    calls = {
      pipe2: l.func('int pipe2(_Out_ int32_t *fds, int flags)') as never,
      fcntl: l.func('int fcntl(int fd, int cmd, int arg)') as never,
      splice: l.func('intptr_t splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len, unsigned int flags)') as never,
      write: l.func('intptr_t write(int fd, const uint8_t *buf, size_t len)') as never,
      read: l.func('intptr_t read(int fd, _Out_ uint8_t *buf, size_t len)') as never,
      close: l.func('int close(int fd)') as never,
    };
  }
  return calls;
}

const failure = lastCallError;

/** A pipe a thread sends spliced replies through (one per thread: a reply must be whole in it). */
export class SplicePipe {
  private fds = new Int32Array(2);
  private readonly offset = new BigInt64Array(1);
  private readonly drain = Buffer.allocUnsafe(1 << 16);

  /** @param capacity bytes the pipe must hold: the largest reply */
  constructor(private readonly capacity: number) {
    this.open();
  }

  private open(): void {
    const c = lib();
    if (c.pipe2(this.fds, O_CLOEXEC) !== 0) throw failure('pipe2');
    if (c.fcntl(this.fds[1]!, F_SETPIPE_SZ, this.capacity) < this.capacity) throw failure('F_SETPIPE_SZ');
  }

  /** A pipe left holding part of a reply cannot be used again: start over with a new one. */
  private reset(): void {
    lib().close(this.fds[0]!);
    lib().close(this.fds[1]!);
    this.open();
  }

  /**
   * Writes `header` then `len` bytes of file `fd` at `position` to `out` as
   * one message (the kernel takes a FUSE reply only whole). Throws the errno
   * of a failed write to `out`, after which the pipe is fresh again.
   */
  send(out: number, header: Buffer, fd: number, position: number, len: number): void {
    const c = lib();
    const [r, w] = [this.fds[0]!, this.fds[1]!];
    if (Number(c.write(w, header, header.length)) !== header.length) {
      this.reset();
      throw failure('write to the reply pipe');
    }
    this.offset[0] = BigInt(position);
    for (let left = len; left > 0; ) {
      const n = Number(c.splice(fd, this.offset, w, null, left, SPLICE_F_MOVE));
      if (n <= 0) {
        this.reset();
        throw n === 0 ? Object.assign(new Error('backing file ended inside the reply'), { code: 'EIO' }) : failure('splice from the backing file');
      }
      left -= n;
    }
    const total = header.length + len;
    const n = Number(c.splice(r, null, out, null, total, 0));
    if (n !== total) {
      const err = failure('splice into /dev/fuse');
      this.reset();
      throw err;
    }
  }
}
