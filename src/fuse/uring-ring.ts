// One io_uring of a FUSE-over-io_uring queue, reached through koffi:
// io_uring_setup/io_uring_enter by syscall(2), the SQ and CQ rings and the
// 128-byte SQEs (IORING_SETUP_SQE128: a FUSE command carries its
// struct fuse_uring_cmd_req in the SQE) mapped and read as views. Only the
// thread that made a ring submits on it and waits in it: the kernel runs a
// FUSE request's delivery as task work of that thread (fuse_uring_send_in_task(),
// fs/fuse/dev_uring.c).

import koffi from 'koffi';
import { lastCallError } from '../memory/index.js';

const SYS_IO_URING_SETUP = 425; // the same number on every architecture (generic syscall table)
const SYS_IO_URING_ENTER = 426;
const IORING_SETUP_SQE128 = 1 << 10;
const IORING_FEAT_SINGLE_MMAP = 1;
const IORING_OFF_SQ_RING = 0;
const IORING_OFF_CQ_RING = 0x8000000;
const IORING_OFF_SQES = 0x10000000;
const IORING_ENTER_GETEVENTS = 1;
export const IORING_OP_READ = 22;
export const IORING_OP_URING_CMD = 46;
const SQE_SIZE = 128;
const CQE_SIZE = 16;
const PROT_RW = 3;
const MAP_SHARED = 1;
const MAP_PRIVATE_ANON = 0x22;
const MAP_POPULATE = 0x8000;
const EFD_CLOEXEC = 0o2000000;

interface Calls {
  setup: (nr: number, entries: number, params: Buffer) => number | bigint;
  enter: (nr: number, fd: number, toSubmit: number, minComplete: number, flags: number, sig: null, sz: number) => number | bigint;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  munmap: (addr: unknown, len: number) => number;
  eventfd: (initval: number, flags: number) => number;
  close: (fd: number) => number;
}
let calls: Calls | undefined;

function lib(): Calls {
  if (!calls) {
    const l = koffi.load('libc.so.6');
    calls = {
      setup: l.func('syscall', 'long', ['long', 'uint32_t', '_Inout_ uint8_t *']) as never,
      enter: l.func('syscall', 'long', ['long', 'int', 'uint32_t', 'uint32_t', 'uint32_t', 'void *', 'size_t']) as never,
      mmap: l.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)') as never,
      munmap: l.func('int munmap(void *addr, size_t len)') as never,
      eventfd: l.func('int eventfd(unsigned int initval, int flags)') as never,
      close: l.func('int close(int fd)') as never,
    };
  }
  return calls;
}

/** Memory the kernel reads and writes by address: a view and its address. */
export interface Region {
  view: Buffer;
  address: bigint;
  ptr: unknown;
}

function map(len: number, flags: number, fd: number, offset: number, what: string): Region {
  const ptr = lib().mmap(null, len, PROT_RW, flags, fd, offset);
  const address = BigInt(koffi.address(ptr));
  if (address === 0xffffffffffffffffn) throw lastCallError(`mmap ${what}`);
  return { view: Buffer.from(koffi.view(ptr, len)), address, ptr };
}

/** Unmaps a region; its view must not be touched after. */
export function freeRegion(r: Region): void {
  lib().munmap(r.ptr, r.view.length);
}

/**
 * Anonymous memory (entry headers and payloads). Not populated: a payload's
 * pages are touched only as far as the largest request went (a queue per
 * possible CPU, most of them idle).
 */
export function allocRegion(len: number): Region {
  return map(len, MAP_PRIVATE_ANON, -1, 0, 'buffers');
}

/** An eventfd: another thread wakes a queue waiting in its ring by writing it. */
export function makeEventfd(): number {
  const fd = lib().eventfd(0, EFD_CLOEXEC);
  if (fd < 0) throw lastCallError('eventfd');
  return fd;
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

export interface Completion {
  userData: bigint;
  res: number;
}

export class Ring {
  readonly fd: number;
  private readonly regions: Region[] = [];
  private readonly sq: Buffer;
  private readonly cq: Buffer;
  private readonly sqes: Buffer;
  private readonly sqHead: number;
  private readonly sqTail: number;
  private readonly sqMask: number;
  private readonly sqArray: number;
  private readonly cqHead: number;
  private readonly cqTail: number;
  private readonly cqMask: number;
  private readonly cqes: number;
  private pending = 0;

  constructor(entries: number) {
    const c = lib();
    const p = Buffer.alloc(120); // struct io_uring_params
    p.writeUInt32LE(IORING_SETUP_SQE128, 8);
    const fd = Number(c.setup(SYS_IO_URING_SETUP, entries, p));
    if (fd < 0) throw lastCallError('io_uring_setup');
    this.fd = fd;
    const sqEntries = p.readUInt32LE(0);
    const cqEntries = p.readUInt32LE(4);
    const features = p.readUInt32LE(20);
    // struct io_sqring_offsets at 40, struct io_cqring_offsets at 80
    const sqLen = p.readUInt32LE(40 + 24) + sqEntries * 4;
    const cqLen = p.readUInt32LE(80 + 20) + cqEntries * CQE_SIZE;
    const single = (features & IORING_FEAT_SINGLE_MMAP) !== 0;
    const ringMap = (len: number, offset: number, what: string) => {
      const r = map(len, MAP_SHARED | MAP_POPULATE, fd, offset, what);
      this.regions.push(r);
      return r.view;
    };
    try {
      this.sq = ringMap(single ? Math.max(sqLen, cqLen) : sqLen, IORING_OFF_SQ_RING, 'sq ring');
      this.cq = single ? this.sq : ringMap(cqLen, IORING_OFF_CQ_RING, 'cq ring');
      this.sqes = ringMap(sqEntries * SQE_SIZE, IORING_OFF_SQES, 'sqes');
    } catch (err) {
      this.close();
      throw err;
    }
    this.sqHead = p.readUInt32LE(40);
    this.sqTail = p.readUInt32LE(44);
    this.sqMask = this.sq.readUInt32LE(p.readUInt32LE(48));
    this.sqArray = p.readUInt32LE(64);
    this.cqHead = p.readUInt32LE(80);
    this.cqTail = p.readUInt32LE(84);
    this.cqMask = this.cq.readUInt32LE(p.readUInt32LE(88));
    this.cqes = p.readUInt32LE(100);
  }

  /** The next SQE, zeroed (the caller fills it); submitted by the next wait(). */
  nextSqe(): Buffer {
    const tail = this.sq.readUInt32LE(this.sqTail);
    const head = this.sq.readUInt32LE(this.sqHead);
    if (tail - head > this.sqMask) throw new Error('io_uring submission queue full');
    const slot = tail & this.sqMask;
    const sqe = this.sqes.subarray(slot * SQE_SIZE, (slot + 1) * SQE_SIZE);
    sqe.fill(0);
    this.sq.writeUInt32LE(slot, this.sqArray + slot * 4);
    this.sq.writeUInt32LE((tail + 1) >>> 0, this.sqTail);
    this.pending++;
    return sqe;
  }

  /** Submits what was queued and waits for at least one completion (EINTR: returns with none). */
  wait(): void {
    const n = Number(lib().enter(SYS_IO_URING_ENTER, this.fd, this.pending, 1, IORING_ENTER_GETEVENTS, null, 0));
    if (n < 0) {
      const err = lastCallError('io_uring_enter');
      if (err.code !== 'EINTR' && err.code !== 'EAGAIN' && err.code !== 'EBUSY') throw err;
      return;
    }
    this.pending -= n;
  }

  /** Takes the completions that arrived, oldest first. */
  drain(into: Completion[]): void {
    let head = this.cq.readUInt32LE(this.cqHead);
    const tail = this.cq.readUInt32LE(this.cqTail);
    while (head !== tail) {
      const at = this.cqes + (head & this.cqMask) * CQE_SIZE;
      into.push({ userData: this.cq.readBigUInt64LE(at), res: this.cq.readInt32LE(at + 8) });
      head = (head + 1) >>> 0;
    }
    this.cq.writeUInt32LE(head, this.cqHead);
  }

  /** Unmaps the rings and closes the ring fd (the kernel cancels what is still queued). */
  close(): void {
    for (const r of this.regions.splice(0)) freeRegion(r);
    closeFd(this.fd);
  }
}
