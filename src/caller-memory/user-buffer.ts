// Which user memory a read or write request moves, found while the caller
// waits in its syscall (DESIGN.md "O_DIRECT and P2P"): /proc/TID/syscall
// gives the buffer (or the iovec array, read from the caller's memory) and the
// file position the call started at; the request's own file offset then picks
// its part of the buffer (the kernel splits a large O_DIRECT call into several).

import type { CallerMemory, SyscallState } from './caller-memory.js';
import { X86_64_RW_CALLS } from './x86-64-syscalls.js';

/** How a submitted operation names its user memory: direction, and whether through an iovec array. */
export interface BufferOp {
  write: boolean;
  vector: boolean;
}

export interface UserRange {
  addr: number;
  len: number;
}

/** What decoding a call reads of its caller: CallerMemory (the main thread) and TaskFiles (a reader thread's kept fds) both answer it. */
export type CallSource = Pick<CallerMemory, 'decodesX86_64' | 'tgid' | 'filePosition' | 'readMemory'> & {
  syscall(tid: number): SyscallState | 'running' | undefined;
};

/** How long to wait for a caller that is still on a CPU to block (a loaded machine can take a while). */
export const RUNNING_WAIT_MS = 2000;
const IOVEC_SIZE = 16;
/** the most iovecs one call takes (include/uapi/linux/uio.h) */
const UIO_MAXIOV = 1024;
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

/** The part [skip, skip + len) of a sequence of user buffers. */
export function sliceRanges(iov: UserRange[], skip: number, len: number): UserRange[] {
  const out: UserRange[] = [];
  let left = len;
  for (const seg of iov) {
    if (left <= 0) break;
    if (skip >= seg.len) {
      skip -= seg.len;
      continue;
    }
    const n = Math.min(seg.len - skip, left);
    out.push({ addr: seg.addr + skip, len: n });
    left -= n;
    skip = 0;
  }
  return out;
}

/**
 * The user memory behind [fileOffset, fileOffset + len) of `sc`, the
 * read/write syscall task `tid` waits in; undefined when it cannot be seen
 * (another kind of call: io_uring, AIO, splice; or the caller is gone).
 */
export function rangesOfCall(mem: CallSource, tid: number, sc: SyscallState | 'running' | undefined, fileOffset: number, len: number): UserRange[] | undefined {
  if (!sc || sc === 'running') return undefined;
  const call = X86_64_RW_CALLS.get(sc.nr);
  if (!call) return undefined;
  const a = sc.args.map(Number);
  const pid = mem.tgid(tid);
  const usesFilePosition = !call.positioned || (call.minusOneMeansFilePosition && sc.args[3] === MINUS_ONE);
  const start = usesFilePosition ? mem.filePosition(pid, a[0]!) : a[3]!;
  if (start === undefined) return undefined;
  const iov = call.vector ? readIovec(mem, pid, a[1]!, a[2]!) : [{ addr: a[1]!, len: a[2]! }];
  return iov && sliceRanges(iov, fileOffset - start, len);
}

/** A struct iovec array of `count` entries at `addr` of process `pid`; undefined when it cannot be read (or is longer than UIO_MAXIOV). */
export function readIovec(mem: Pick<CallSource, 'readMemory'>, pid: number, addr: number, count: number): UserRange[] | undefined {
  if (count > UIO_MAXIOV) return undefined;
  const raw = mem.readMemory(pid, addr, count * IOVEC_SIZE);
  if (!raw) return undefined;
  const iov: UserRange[] = [];
  for (let i = 0; i < count; i++) iov.push({ addr: Number(raw.readBigUInt64LE(i * IOVEC_SIZE)), len: Number(raw.readBigUInt64LE(i * IOVEC_SIZE + 8)) });
  return iov;
}
