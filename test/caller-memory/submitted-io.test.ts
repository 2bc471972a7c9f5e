// SubmittedIo against a fake /proc: the buffer of an O_DIRECT request that a
// process submitted through io_submit (libaio) or io_uring, found from the
// call's arguments, from iocbs its completion ring reported, or from the SQE
// array it maps; and the reason given when it cannot be found.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CallerMemory, SubmittedIo, X86_64_SYSCALLS as SYS, type DirectIo } from '../../src/caller-memory/index.js';

let root: string;
let mem: CallerMemory;
const PID = 5100;
const TID = 5101;
/** the namespace's node id: fd 5 of the process is open on it, fd 6 on another file */
const NODE = 91;
const FD = 5;
const OTHER_FD = 6;
const KIB = 1024;

function file(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

function syscall(tid: number, nr: number, ...args: number[]): void {
  const six = [...args, 0, 0, 0, 0, 0, 0].slice(0, 6).map((a) => `0x${a.toString(16)}`);
  file(`${tid}/syscall`, `${nr} ${six.join(' ')} 0x7ffc0000 0x401000\n`);
}

/** Bytes in the fake process's memory (a sparse /proc/PID/mem). */
function poke(addr: number, b: Buffer): void {
  closeSync(openSync(join(root, `${PID}/mem`), 'a'));
  const fd = openSync(join(root, `${PID}/mem`), 'r+');
  writeSync(fd, b, 0, b.length, addr);
  closeSync(fd);
}

/** A struct iocb (x86-64 layout of include/uapi/linux/aio_abi.h). */
function iocb(opcode: number, fd: number, buf: number, nbytes: number, offset: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt16LE(opcode, 16);
  b.writeUInt32LE(fd, 20);
  b.writeBigUInt64LE(BigInt(buf), 24);
  b.writeBigUInt64LE(BigInt(nbytes), 32);
  b.writeBigInt64LE(BigInt(offset), 40);
  return b;
}

function pointers(addrs: number[]): Buffer {
  const b = Buffer.alloc(addrs.length * 8);
  addrs.forEach((a, i) => b.writeBigUInt64LE(BigInt(a), i * 8));
  return b;
}

/** A struct io_uring_sqe. */
function sqe(opcode: number, fd: number, off: bigint, addr: number, len: number, flags = 0): Buffer {
  const b = Buffer.alloc(64);
  b[0] = opcode;
  b[1] = flags;
  b.writeInt32LE(fd, 4);
  b.writeBigUInt64LE(off, 8);
  b.writeBigUInt64LE(BigInt(addr), 16);
  b.writeUInt32LE(len, 24);
  return b;
}

/** An AIO completion ring at `at` whose slots reported these iocbs. */
function aioRing(at: number, objs: number[]): void {
  const head = Buffer.alloc(32);
  head.writeUInt32LE(objs.length, 4); // nr
  head.writeUInt32LE(0xa10a10a1, 16); // magic
  head.writeUInt32LE(32, 28);
  const events = Buffer.alloc(objs.length * 32);
  objs.forEach((o, i) => events.writeBigUInt64LE(BigInt(o), i * 32 + 8));
  poke(at, Buffer.concat([head, events]));
}

/** The SQE array's page (the mapping is read whole, as the kernel's /proc/PID/mem would give it). */
const sqes = (...entries: Buffer[]) => poke(SQES, Buffer.concat([...entries, Buffer.alloc(4096 - entries.length * 64)]));

const read = (offset: number, len: number): DirectIo => ({ node: NODE, offset, len, write: false });

const AIO_RING = 0x10_0000;
const SQES = 0x20_0000;
const maps = (lines: string[]) => file(`${PID}/maps`, lines.join('\n') + '\n');
const AIO_LINE = `${AIO_RING.toString(16)}-${(AIO_RING + 4096).toString(16)} rw-s 00000000 00:12 1337009                    /[aio] (deleted)`;
const SQES_LINE = `${SQES.toString(16)}-${(SQES + 4096).toString(16)} rw-s 10000000 00:10 1331548                    anon_inode:[io_uring]`;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fake-proc-'));
  mem = new CallerMemory(root, true);
  file(`${TID}/status`, `Tgid:\t${PID}\n`);
  file(`${PID}/status`, `Tgid:\t${PID}\n`);
  file(`${PID}/fdinfo/${FD}`, `pos:\t0\nflags:\t0140002\nmnt_id:\t40\nino:\t${NODE}\n`);
  file(`${PID}/fdinfo/${OTHER_FD}`, `pos:\t0\nflags:\t0140002\nmnt_id:\t40\nino:\t${NODE + 1}\n`);
  maps([]);
  poke(0, Buffer.alloc(8));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('libaio: the iocbs of io_submit', () => {
  test('a caller still in io_submit: the iocb on the request\'s file and range gives the buffer, split as the request is', () => {
    // two iocbs: one on another file at the same offset, one 1 MiB read on ours (sent as two 512 KiB requests)
    poke(0x3000, iocb(0, OTHER_FD, 0x900000, 1024 * KIB, 0));
    poke(0x3040, iocb(0, FD, 0x500000, 1024 * KIB, 0));
    poke(0x4000, pointers([0x3000, 0x3040]));
    syscall(TID, SYS.io_submit, AIO_RING, 2, 0x4000);
    expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), read(512 * KIB, 512 * KIB))).toEqual({ candidates: [[{ addr: 0x500000 + 512 * KIB, len: 512 * KIB }]] });
  });

  test('PREADV: the iovecs of the iocb are read from the caller\'s memory', () => {
    const iov = Buffer.alloc(32);
    iov.writeBigUInt64LE(0x600000n, 0);
    iov.writeBigUInt64LE(4096n, 8);
    iov.writeBigUInt64LE(0x700000n, 16);
    iov.writeBigUInt64LE(4096n, 24);
    poke(0x5000, iov);
    poke(0x3000, iocb(7, FD, 0x5000, 2, 8192));
    poke(0x4000, pointers([0x3000]));
    syscall(TID, SYS.io_submit, AIO_RING, 1, 0x4000);
    expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), read(8192, 8192))).toEqual({
      candidates: [
        [
          { addr: 0x600000, len: 4096 },
          { addr: 0x700000, len: 4096 },
        ],
      ],
    });
  });

  test('a write request is never matched to a read iocb', () => {
    poke(0x3000, iocb(0, FD, 0x500000, 4096, 0));
    poke(0x4000, pointers([0x3000]));
    syscall(TID, SYS.io_submit, AIO_RING, 1, 0x4000);
    expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), { ...read(0, 4096), write: true })).toHaveProperty('unseen');
  });

  test('after io_submit returned (the caller waits in io_getevents): an iocb its completion ring reported is checked', () => {
    maps([AIO_LINE]);
    aioRing(AIO_RING, [0x3000, 0]);
    poke(0x3000, iocb(1, FD, 0x500000, 64 * KIB, 64 * KIB));
    syscall(TID, SYS.io_getevents, AIO_RING, 1, 1, 0x8000, 0);
    expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), { ...read(64 * KIB, 64 * KIB), write: true })).toEqual({ candidates: [[{ addr: 0x500000, len: 64 * KIB }]] });
  });

  test('a caller that polls its ring for completions (never blocks): its iocb is found without waiting for it to block', async () => {
    maps([AIO_LINE]);
    aioRing(AIO_RING, [0x3000]);
    poke(0x3000, iocb(0, FD, 0x500000, 4096, 0));
    file(`${TID}/syscall`, 'running\n');
    file(`${TID}/comm`, 'fio\n');
    const t0 = Date.now();
    expect(await new SubmittedIo(mem).bufferOfBlocked(TID, read(0, 4096))).toEqual({ candidates: [[{ addr: 0x500000, len: 4096 }]] });
    // the wait for a caller to block is RUNNING_WAIT_MS (2 s)
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test('an iocb seen in an earlier io_submit is remembered for the process\'s later requests', () => {
    maps([AIO_LINE]);
    aioRing(AIO_RING, [0]);
    poke(0x3000, iocb(0, FD, 0x500000, 4096, 0));
    poke(0x4000, pointers([0x3000]));
    syscall(TID, SYS.io_submit, AIO_RING, 1, 0x4000);
    const submitted = new SubmittedIo(mem);
    expect(submitted.bufferOf(TID, mem.syscall(TID), read(0, 4096))).toHaveProperty('candidates');
    // the same iocb reused for the next block, found while the caller waits for completions
    poke(0x3000, iocb(0, FD, 0x540000, 4096, 4096));
    syscall(TID, SYS.io_getevents, AIO_RING, 1, 1, 0x8000, 0);
    expect(submitted.bufferOf(TID, mem.syscall(TID), read(4096, 4096))).toEqual({ candidates: [[{ addr: 0x540000, len: 4096 }]] });
  });

  describe('the first submissions (io_submit returned, no completion yet): the process\'s anonymous memory is searched', () => {
    const HEAP = 0x40_0000;
    const HEAP_LINE = `${HEAP.toString(16)}-${(HEAP + 2 * 4096).toString(16)} rw-p 00000000 00:00 0                          [heap]`;
    /** /proc/PID/pagemap: which pages of the heap are present */
    const pagemap = (present: boolean[]) => {
      const b = Buffer.alloc(present.length * 8);
      present.forEach((p, i) => p && b.writeUInt8(0x80, i * 8 + 7));
      closeSync(openSync(join(root, `${PID}/pagemap`), 'a'));
      const fd = openSync(join(root, `${PID}/pagemap`), 'r+');
      writeSync(fd, b, 0, b.length, (HEAP / 4096) * 8);
      closeSync(fd);
    };
    beforeEach(() => {
      mkdirSync(join(root, `${PID}/fd`), { recursive: true });
      symlinkSync('/mnt/dev/nvme0n1', join(root, `${PID}/fd/${FD}`));
      maps([AIO_LINE, HEAP_LINE]);
      aioRing(AIO_RING, [0]);
      syscall(TID, SYS.io_getevents, AIO_RING, 1, 1, 0x8000, 0);
      // the iocb sits in the heap's second page, 8-byte aligned but not 64
      poke(HEAP, Buffer.alloc(2 * 4096));
      poke(HEAP + 4096 + 24, iocb(0, FD, 0x500000, 4096, 0));
    });

    test('an iocb on the file in a present page is found', () => {
      pagemap([false, true]);
      expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), read(0, 4096))).toEqual({ candidates: [[{ addr: 0x500000, len: 4096 }]] });
    });

    test('pages not present are not read: unseen, and the reason names libaio', () => {
      pagemap([true, false]);
      expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), read(0, 4096))).toEqual({ unseen: expect.stringContaining('libaio') });
    });
  });
});

describe('io_uring: the entries of the SQE array', () => {
  test('a READ entry on the request\'s file, consumed by the kernel but still in its slot, gives the buffer', () => {
    maps([SQES_LINE]);
    sqes(sqe(22, OTHER_FD, 0n, 0x900000, 4096), sqe(22, FD, 1048576n, 0x500000, 1024 * KIB), sqe(23, FD, 1048576n, 0x800000, 4096));
    syscall(TID, SYS.io_uring_enter, 7, 0, 1, 1);
    expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), read(1536 * KIB, 512 * KIB))).toEqual({ candidates: [[{ addr: 0x500000 + 512 * KIB, len: 512 * KIB }]] });
  });

  test('the request of an io-wq worker thread is found in its process\'s ring', () => {
    const WORKER = 5109;
    file(`${WORKER}/status`, `Tgid:\t${PID}\n`);
    maps([SQES_LINE]);
    sqes(sqe(23, FD, 0n, 0x500000, 4096));
    expect(new SubmittedIo(mem).bufferOf(WORKER, undefined, { ...read(0, 4096), write: true })).toEqual({ candidates: [[{ addr: 0x500000, len: 4096 }]] });
  });

  test('an SQPOLL thread still on a CPU is not waited for: its process\'s ring is read at once', async () => {
    const SQ_THREAD = 5108;
    file(`${SQ_THREAD}/status`, `Tgid:\t${PID}\n`);
    file(`${SQ_THREAD}/comm`, `iou-sqp-${PID}\n`);
    file(`${SQ_THREAD}/syscall`, 'running\n');
    maps([SQES_LINE]);
    sqes(sqe(22, FD, 0n, 0x500000, 4096));
    const t0 = Date.now();
    expect(await new SubmittedIo(mem).bufferOfBlocked(SQ_THREAD, read(0, 4096))).toEqual({ candidates: [[{ addr: 0x500000, len: 4096 }]] });
    // the wait for a caller to block is RUNNING_WAIT_MS (2 s)
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test('an entry whose buffer the kernel picks from a provided-buffer group (IOSQE_BUFFER_SELECT): unseen, saying so', () => {
    maps([SQES_LINE]);
    sqes(sqe(22, FD, 0n, 0, 4096, 1 << 5));
    expect(new SubmittedIo(mem).bufferOf(TID, undefined, read(0, 4096))).toEqual({ unseen: expect.stringContaining('IOSQE_BUFFER_SELECT') });
  });

  test('offset -1 reads at the file position', () => {
    maps([SQES_LINE]);
    file(`${PID}/fdinfo/${FD}`, `pos:\t8192\nino:\t${NODE}\n`);
    sqes(sqe(22, FD, 0xffff_ffff_ffff_ffffn, 0x500000, 8192));
    expect(new SubmittedIo(mem).bufferOf(TID, undefined, read(12288, 4096))).toEqual({ candidates: [[{ addr: 0x501000, len: 4096 }]] });
  });

  test('two entries covering the request with different buffers are both returned (the caller decides whether they agree)', () => {
    maps([SQES_LINE]);
    sqes(sqe(22, FD, 0n, 0x500000, 4096), sqe(22, FD, 0n, 0x600000, 4096));
    expect(new SubmittedIo(mem).bufferOf(TID, undefined, read(0, 4096))).toEqual({
      candidates: [[{ addr: 0x500000, len: 4096 }], [{ addr: 0x600000, len: 4096 }]],
    });
  });

  describe('registered files (IOSQE_FIXED_FILE: fd is an index into the ring\'s table, as its fdinfo lists it)', () => {
    const RING_FD = 7;
    beforeEach(() => {
      mkdirSync(join(root, `${PID}/fd`), { recursive: true });
      symlinkSync('/mnt/dev/nvme0n1', join(root, `${PID}/fd/${FD}`));
      symlinkSync('/mnt/dev/nvme1n1', join(root, `${PID}/fd/${OTHER_FD}`));
      symlinkSync('anon_inode:[io_uring]', join(root, `${PID}/fd/${RING_FD}`));
      maps([SQES_LINE]);
      sqes(sqe(22, 0, 0n, 0x600000, 4096, 1), sqe(22, 1, 0n, 0x500000, 4096, 1));
    });
    const ringInfo = (files: string) => file(`${PID}/fdinfo/${RING_FD}`, `pos:\t0\nino:\t1331548\nSqMask:\t0x3\n${files}UserBufs:\t0\n`);

    test('the slot whose path is that of the process\'s fd on the file is the request\'s', () => {
      ringInfo('UserFiles:\t2\n    0: /mnt/dev/nvme1n1\n    1: /mnt/dev/nvme0n1\n');
      expect(new SubmittedIo(mem).bufferOf(TID, undefined, read(0, 4096))).toEqual({ candidates: [[{ addr: 0x500000, len: 4096 }]] });
    });

    test('an older kernel lists names only: the name of the fd\'s path matches', () => {
      ringInfo('UserFiles:\t2\n    0: nvme1n1\n    1: nvme0n1\n');
      expect(new SubmittedIo(mem).bufferOf(TID, undefined, read(0, 4096))).toEqual({ candidates: [[{ addr: 0x500000, len: 4096 }]] });
    });

    test('a table fdinfo does not list (the ring\'s lock was held every time): unseen, saying why', () => {
      ringInfo('UserFiles:\t2\n');
      expect(new SubmittedIo(mem).bufferOf(TID, undefined, read(0, 4096))).toEqual({ unseen: expect.stringContaining('IOSQE_FIXED_FILE') });
    });
  });
});

test('a caller with neither a decodable call nor a submission queue: unseen, naming what it waits in', () => {
  syscall(TID, 7, 0, 0, 0);
  expect(new SubmittedIo(mem).bufferOf(TID, mem.syscall(TID), read(0, 4096))).toEqual({ unseen: expect.stringContaining('syscall 7') });
});
