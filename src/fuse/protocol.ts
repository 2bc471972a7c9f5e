// FUSE kernel protocol constants (include/uapi/linux/fuse.h). We answer INIT as
// 7.38, the version of the local header; the kernel (7.45 here) then speaks 7.38.

export const FUSE_KERNEL_VERSION = 7;
export const FUSE_KERNEL_MINOR_VERSION = 38;
export const FUSE_ROOT_ID = 1;

export const Opcode = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
} as const;

export const OPCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Opcode).map(([name, op]) => [op, name]),
);

// INIT flags (fuse_init_in.flags / fuse_init_out.flags; flags2 holds bits 32..63).
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  ATOMIC_O_TRUNC: 1 << 3,
  BIG_WRITES: 1 << 5,
  DO_READDIRPLUS: 1 << 13,
  READDIRPLUS_AUTO: 1 << 14,
  ASYNC_DIO: 1 << 15,
  PARALLEL_DIROPS: 1 << 18,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
  INIT_EXT: 1 << 30,
} as const;

// flags2 bits (flag bit n ≥ 32 is flags2 bit n-32); not in the 7.38 header.
export const InitFlag2 = {
  DIRECT_IO_ALLOW_MMAP: 1 << (36 - 32),
  /** FUSE_OVER_IO_URING (7.42): requests come on io_uring queues once every queue registered */
  OVER_IO_URING: 1 << (41 - 32),
} as const;

// fuse_open_out.open_flags
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_NONSEEKABLE = 1 << 2;
export const FOPEN_CACHE_DIR = 1 << 3;

// fuse_setattr_in.valid
export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_FH = 1 << 6;

// fuse_ioctl_in.flags / fuse_ioctl_out.flags
export const FUSE_IOCTL_UNRESTRICTED = 1 << 1;
export const FUSE_IOCTL_RETRY = 1 << 2;

// Notification codes (sent as fuse_out_header.error with unique 0).
export const NotifyCode = {
  POLL: 1,
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  STORE: 4,
  RETRIEVE: 5,
  DELETE: 6,
} as const;

// Struct sizes.
export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
export const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
export const OPEN_OUT_SIZE = 16;
export const INIT_OUT_SIZE = 64;
export const STATFS_OUT_SIZE = 80;
export const WRITE_OUT_SIZE = 8;
export const IOCTL_OUT_SIZE = 16;
export const DIRENT_HEADER_SIZE = 24;

// Sizes of the data path, agreed at INIT. 512 KiB requests: a 1 MiB O_DIRECT
// read or write becomes 2 requests that two readers serve in parallel, one per
// core of a 2-core machine (make bench, native-notes/performance.md: against
// 256 KiB, the P2P copy 0.55 -> 0.75 of host memory — its per-request
// decision is paid half as often — and seq O_DIRECT read 0.50 -> 0.53; 1 MiB
// requests lost the parallelism: read 0.34).
export const MAX_WRITE = 1 << 19;
export const MAX_PAGES = 128;
// A read of /dev/fuse needs room for the largest WRITE plus its headers.
export const READ_BUFFER_SIZE = MAX_WRITE + 4096;
