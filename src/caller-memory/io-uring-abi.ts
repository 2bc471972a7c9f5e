// io_uring's submission queue entries as a process's memory holds them
// (include/uapi/linux/io_uring.h: struct io_uring_sqe, IORING_OP_*, IOSQE_*,
// IORING_OFF_SQES). The SQE array is a shared mapping of the ring's file at
// offset IORING_OFF_SQES; an entry stays there after the kernel consumed it
// until the process reuses its slot. Little-endian, 64-bit pointers.

import type { BufferOp } from './user-buffer.js';

/** the SQE array's mmap offset */
export const IORING_OFF_SQES = 0x1000_0000;
/** what /proc/PID/maps names the ring's mappings (and /proc/PID/fd links) */
export const IO_URING_FILE = 'anon_inode:[io_uring]';
/** sizeof(struct io_uring_sqe); an IORING_SETUP_SQE128 ring has two per entry (the second half holds no read or write) */
export const SQE_SIZE = 64;
/** IOSQE_FIXED_FILE: fd is an index into the ring's registered files */
export const IOSQE_FIXED_FILE = 1 << 0;
/** IOSQE_BUFFER_SELECT: the kernel picks the buffer from a provided-buffer group at issue */
export const IOSQE_BUFFER_SELECT = 1 << 5;
/** bytes of an SQE array read at most (IORING_MAX_ENTRIES 32768 entries of 128 bytes) */
export const SQES_READ_MAX = 32768 * 128;

/** IORING_OP_* that read or write a file through a user buffer. */
export const IORING_OP = { READV: 1, WRITEV: 2, READ_FIXED: 4, WRITE_FIXED: 5, READ: 22, WRITE: 23 } as const;

export interface Sqe {
  opcode: number;
  flags: number;
  fd: number;
  /** the file offset; 2^64 - 1 means the file's own position */
  off: bigint;
  /** the buffer, or the iovec array for READV/WRITEV */
  addr: number;
  /** bytes, or iovec count for READV/WRITEV */
  len: number;
}

/** The SQE at `at` of `b`. */
export function decodeSqe(b: Buffer, at: number): Sqe {
  return {
    opcode: b[at]!,
    flags: b[at + 1]!,
    fd: b.readInt32LE(at + 4),
    off: b.readBigUInt64LE(at + 8),
    addr: Number(b.readBigUInt64LE(at + 16)),
    len: b.readUInt32LE(at + 24),
  };
}

/** The opcodes that move data through a user buffer (or iovec array), and their direction (the fixed ones name an address in a registered buffer). */
export const SQE_DATA_OPS: ReadonlyMap<number, BufferOp> = new Map([
  [IORING_OP.READ, { write: false, vector: false }],
  [IORING_OP.READ_FIXED, { write: false, vector: false }],
  [IORING_OP.WRITE, { write: true, vector: false }],
  [IORING_OP.WRITE_FIXED, { write: true, vector: false }],
  [IORING_OP.READV, { write: false, vector: true }],
  [IORING_OP.WRITEV, { write: true, vector: true }],
]);
