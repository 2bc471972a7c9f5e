// The native AIO ABI as an x86-64 caller lays it out in its own memory
// (include/uapi/linux/aio_abi.h: struct iocb, struct io_event; fs/aio.c:
// struct aio_ring, the completion ring mapped at the io_context_t address).
// Little-endian, 64-bit pointers; other architectures are not decoded.

import type { BufferOp } from './user-buffer.js';

/** IOCB_CMD_*: the operations whose buffer the kernel pins for O_DIRECT */
export const IOCB_CMD = { PREAD: 0, PWRITE: 1, PREADV: 7, PWRITEV: 8 } as const;

/** sizeof(struct iocb) on x86-64 */
export const X86_64_IOCB_SIZE = 64;
/** sizeof(struct io_event) */
const IO_EVENT_SIZE = 32;
/** struct aio_ring's header (id, nr, head, tail, magic, compat, incompat, header_length: u32 each); the events follow */
const AIO_RING_HEADER = 32;
/** AIO_RING_MAGIC, fs/aio.c */
const AIO_RING_MAGIC = 0xa10a10a1;
/** ring slots read at most (io_setup's own ceiling is fs.aio-max-nr) */
const RING_EVENTS_READ = 65536;

export interface Iocb {
  opcode: number;
  fd: number;
  /** the buffer, or the iovec array for PREADV/PWRITEV */
  buf: number;
  /** bytes, or iovec count for PREADV/PWRITEV */
  nbytes: number;
  offset: number;
}

/** A struct iocb at `at` of `b` (x86-64 layout). */
export function decodeIocb(b: Buffer, at = 0): Iocb {
  return {
    opcode: b.readUInt16LE(at + 16),
    fd: b.readUInt32LE(at + 20),
    buf: Number(b.readBigUInt64LE(at + 24)),
    nbytes: Number(b.readBigUInt64LE(at + 32)),
    offset: Number(b.readBigInt64LE(at + 40)),
  };
}

/** The iocb operations that move data through a user buffer (or iovec array), and their direction. */
export const IOCB_DATA_OPS: ReadonlyMap<number, BufferOp> = new Map([
  [IOCB_CMD.PREAD, { write: false, vector: false }],
  [IOCB_CMD.PWRITE, { write: true, vector: false }],
  [IOCB_CMD.PREADV, { write: false, vector: true }],
  [IOCB_CMD.PWRITEV, { write: true, vector: true }],
]);

/**
 * The user iocb addresses a completion ring has reported (io_event.obj of
 * every slot, consumed or not: the kernel never clears a slot), read from the
 * ring at `ctx`; empty when `ctx` holds no ring.
 */
export function ringIocbAddresses(read: (addr: number, len: number) => Buffer | undefined, ctx: number): number[] {
  const head = read(ctx, AIO_RING_HEADER);
  if (!head || head.readUInt32LE(16) !== AIO_RING_MAGIC) return [];
  const nr = Math.min(head.readUInt32LE(4), RING_EVENTS_READ);
  const events = read(ctx + AIO_RING_HEADER, nr * IO_EVENT_SIZE);
  if (!events) return [];
  const out = new Set<number>();
  for (let i = 0; i < nr; i++) {
    const obj = Number(events.readBigUInt64LE(i * IO_EVENT_SIZE + 8));
    if (obj !== 0) out.add(obj);
  }
  return [...out];
}
