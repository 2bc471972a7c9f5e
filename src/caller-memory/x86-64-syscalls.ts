// System call numbers of x86-64 (arch/x86/entry/syscalls/syscall_64.tbl) that
// matter when a caller waits in one: which user memory a read or write moves,
// and whether a request comes from an open. /proc/PID/syscall prints the
// number of the task's own architecture; other architectures are not decoded.

export const X86_64_SYSCALLS = {
  read: 0,
  write: 1,
  open: 2,
  pread64: 17,
  pwrite64: 18,
  readv: 19,
  writev: 20,
  creat: 85,
  io_getevents: 208,
  io_submit: 209,
  openat: 257,
  preadv: 295,
  pwritev: 296,
  preadv2: 327,
  pwritev2: 328,
  io_pgetevents: 333,
  io_uring_enter: 426,
  openat2: 437,
} as const;

const S = X86_64_SYSCALLS;

/** How a read or write call names its user memory and its file position (arguments by register). */
export interface X86_64RwCall {
  /** args (fd, iov, iovcnt[, pos]) instead of (fd, buf, count[, pos]) */
  vector: boolean;
  /** the position is argument 3; otherwise the file's own position */
  positioned: boolean;
  /** preadv2/pwritev2: position -1 means the file's own position */
  minusOneMeansFilePosition: boolean;
}

const rw = (vector: boolean, positioned: boolean, minusOne = false): X86_64RwCall => ({ vector, positioned, minusOneMeansFilePosition: minusOne });

/** Every read/write call whose buffer can be found from its registers (io_uring and AIO name theirs in submissions: submitted-io.ts; splice cannot). */
export const X86_64_RW_CALLS: ReadonlyMap<number, X86_64RwCall> = new Map([
  [S.read, rw(false, false)],
  [S.write, rw(false, false)],
  [S.pread64, rw(false, true)],
  [S.pwrite64, rw(false, true)],
  [S.readv, rw(true, false)],
  [S.writev, rw(true, false)],
  [S.preadv, rw(true, true)],
  [S.pwritev, rw(true, true)],
  [S.preadv2, rw(true, true, true)],
  [S.pwritev2, rw(true, true, true)],
]);

/** read(2) and its variants: a READ of a file that arrives while the caller is in one of these is no page fault. */
export const X86_64_READ_CALLS: ReadonlySet<number> = new Set([S.read, S.pread64, S.readv, S.preadv, S.preadv2]);

/** The calls that open a file (an O_TRUNC arrives as a SETATTR while the caller is in one of these). */
export const X86_64_OPEN_CALLS: ReadonlySet<number> = new Set([S.open, S.creat, S.openat, S.openat2]);

/** Is this machine's /proc/PID/syscall numbered by the x86-64 table? */
export const SYSCALLS_ARE_X86_64 = process.arch === 'x64';
