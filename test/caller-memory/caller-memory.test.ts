// caller-memory against a fake /proc: the syscall decoding an O_DIRECT request
// relies on (which part of which user buffer a request moves), the memory map,
// and what "unknown" looks like when a process is gone.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CallerMemory, formatMountUsers, mountUsers, rangesOfCall, SubmittedIo, TaskFiles, X86_64_SYSCALLS as SYS } from '../../src/caller-memory/index.js';

let root: string;
let mem: CallerMemory;
const PID = 4242;
const TID = 4250; // a thread of PID

function file(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** /proc/TID/syscall as the kernel prints it: nr, six arguments, stack and instruction pointers. */
function syscall(tid: number, nr: number | 'running', ...args: (number | bigint)[]): void {
  if (nr === 'running') return file(`${tid}/syscall`, 'running\n');
  const six = [...args, 0, 0, 0, 0, 0, 0].slice(0, 6).map((a) => `0x${a.toString(16)}`);
  file(`${tid}/syscall`, `${nr} ${six.join(' ')} 0x7ffc0000 0x401000\n`);
}

/** iovecs in the fake process's memory (a sparse /proc/PID/mem) at addr. */
function iovecs(pid: number, addr: number, iov: [number, number][]): void {
  const b = Buffer.alloc(iov.length * 16);
  iov.forEach(([base, len], i) => {
    b.writeBigUInt64LE(BigInt(base), i * 16);
    b.writeBigUInt64LE(BigInt(len), i * 16 + 8);
  });
  mkdirSync(join(root, String(pid)), { recursive: true });
  closeSync(openSync(join(root, `${pid}/mem`), 'a'));
  const fd = openSync(join(root, `${pid}/mem`), 'r+');
  writeSync(fd, b, 0, b.length, addr);
  closeSync(fd);
}

/** The buffer found for a request of the file, as one list of ranges; undefined when none can be seen. */
async function userRangesOf(m: CallerMemory, tid: number, offset: number, len: number) {
  const found = await new SubmittedIo(m).bufferOfBlocked(tid, { node: 77, offset, len, write: false });
  return 'candidates' in found ? found.candidates[0] : undefined;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fake-proc-'));
  mem = new CallerMemory(root, true);
  file(`${PID}/status`, `Name:\tp2p-copy\nTgid:\t${PID}\nPid:\t${PID}\n`);
  file(`${TID}/status`, `Name:\tp2p-copy\nTgid:\t${PID}\nPid:\t${TID}\n`);
  file(`${PID}/comm`, 'p2p-copy\n');
  file(`${PID}/stat`, `${PID} (p2p copy) S 1 ${PID} 0\n`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('which user memory a read or write request moves', () => {
  test('pread64: the request at file offset 1 MiB of a call at 0 starts 1 MiB into the buffer', async () => {
    syscall(TID, SYS.pread64, 3, 0x7f0000000000, 4 << 20, 0);
    expect(await userRangesOf(mem, TID, 1 << 20, 256 << 10)).toEqual([{ addr: 0x7f0000000000 + (1 << 20), len: 256 << 10 }]);
  });

  test('read: the call starts at the file position fdinfo shows, read from the thread group', async () => {
    syscall(TID, SYS.read, 5, 0x10000, 8192);
    file(`${PID}/fdinfo/5`, 'pos:\t4096\nflags:\t0140002\n');
    expect(await userRangesOf(mem, TID, 8192, 4096)).toEqual([{ addr: 0x10000 + 4096, len: 4096 }]);
  });

  test('preadv: the iovec array is read from the caller\'s memory; a request spanning two buffers gets both parts', async () => {
    iovecs(PID, 0x20000, [
      [0x100000, 4096],
      [0x300000, 8192],
    ]);
    syscall(TID, SYS.preadv, 3, 0x20000, 2, 65536);
    expect(await userRangesOf(mem, TID, 65536 + 2048, 4096)).toEqual([
      { addr: 0x100000 + 2048, len: 2048 },
      { addr: 0x300000, len: 2048 },
    ]);
  });

  test('pwritev2 with offset -1 uses the file position', async () => {
    iovecs(PID, 0x20000, [[0x500000, 4096]]);
    syscall(TID, SYS.pwritev2, 7, 0x20000, 1, 0xffff_ffff_ffff_ffffn, 0);
    file(`${PID}/fdinfo/7`, 'pos:\t12288\n');
    expect(await userRangesOf(mem, TID, 12288, 4096)).toEqual([{ addr: 0x500000, len: 4096 }]);
  });

  test('a caller still on a CPU is asked again until it blocks', async () => {
    syscall(TID, 'running');
    setTimeout(() => syscall(TID, SYS.pread64, 3, 0x40000, 4096, 0), 30);
    expect(await userRangesOf(mem, TID, 0, 4096)).toEqual([{ addr: 0x40000, len: 4096 }]);
  });

  test('calls whose buffer the registers do not show (io_uring_enter), no syscall, or a gone process: unknown', async () => {
    syscall(TID, 426, 3, 1, 1);
    expect(await userRangesOf(mem, TID, 0, 4096)).toBeUndefined();
    file(`${TID}/syscall`, '-1 0x7ffc0000 0x401000\n');
    expect(await userRangesOf(mem, TID, 0, 4096)).toBeUndefined();
    expect(await userRangesOf(mem, 99999, 0, 4096)).toBeUndefined();
  });

  test('an iovec array that cannot be read (unmapped) is unknown, not empty', async () => {
    syscall(TID, SYS.readv, 3, 0x90000, 4);
    file(`${PID}/fdinfo/3`, 'pos:\t0\n');
    expect(await userRangesOf(mem, TID, 0, 4096)).toBeUndefined();
  });

  test('without the x86-64 table nothing is decoded', async () => {
    syscall(TID, SYS.pread64, 3, 0x40000, 4096, 0);
    expect(await userRangesOf(new CallerMemory(root, false), TID, 0, 4096)).toBeUndefined();
  });
});

describe('process facts', () => {
  test('a thread id maps to its process; an unknown task to itself', () => {
    expect(mem.tgid(TID)).toBe(PID);
    expect(mem.tgid(77)).toBe(77);
  });

  test('a zombie counts as gone, a sleeping process as alive, a command name with spaces does not confuse it', () => {
    expect(mem.isAlive(PID)).toBe(true);
    file(`${PID}/stat`, `${PID} (p2p copy) Z 1 ${PID} 0\n`);
    expect(mem.isAlive(PID)).toBe(false);
    expect(mem.isAlive(31337)).toBe(false);
  });

  test('the syscall number: a page fault is -1, a running task unknown', () => {
    syscall(TID, SYS.read, 0, 0, 0);
    expect(mem.syscallNumber(TID)).toBe(SYS.read);
    file(`${TID}/syscall`, '-1 0x7ffc0000 0x401000\n');
    expect(mem.syscallNumber(TID)).toBe(-1);
    syscall(TID, 'running');
    expect(mem.syscallNumber(TID)).toBeUndefined();
  });

  test('mappings of one file are matched on device and inode, "(deleted)" or not', () => {
    file(
      `${TID}/maps`,
      [
        '7f0000000000-7f0000200000 rw-s 00000000 00:2a 17                         /mnt/sys/bus/pci/devices/0000:05:00.0/p2pmem/allocate',
        '7f0000400000-7f0000401000 rw-s 00000000 00:2a 18                         /mnt/sys/bus/pci/devices/0000:05:00.0/p2pmem/allocate (deleted)',
        '7f0000600000-7f0000601000 rw-p 00001000 08:01 17                         /usr/lib/other',
        '',
      ].join('\n'),
    );
    expect(mem.fileMappings(TID, '00:2a', 17)).toEqual([{ start: 0x7f0000000000, end: 0x7f0000200000, perms: 'rw-s', offset: 0 }]);
    expect(mem.fileMappings(TID, '00:2a', 18)).toHaveLength(1);
    expect(mem.vmas(TID).map((v) => v.perms)).toEqual(['rw-s', 'rw-s', 'rw-p']);
  });

  test('pagemap bit 63 says which pages are present', () => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(1n << 63n, 8);
    mkdirSync(join(root, String(PID)), { recursive: true });
    const fd = openSync(join(root, `${PID}/pagemap`), 'w');
    writeSync(fd, b, 0, 16, (0x10000 / 4096) * 8);
    closeSync(fd);
    expect(mem.pagesPresent(PID, 0x10000, 2)).toEqual([false, true]);
  });
});

describe('who a process is, and who uses a mount', () => {
  test('identity: start time (stat field 22) and command line; a zombie or a gone process has none', () => {
    const fields = ['S', ...Array.from({ length: 18 }, (_, i) => String(i)), '987654', '0'];
    file(`${PID}/stat`, `${PID} (node) x) ${fields.join(' ')}\n`);
    file(`${PID}/cmdline`, 'node\0bin/p2pemu.js\0mount\0/mnt\0');
    expect(mem.identity(PID)).toEqual({ startTime: '987654', cmdline: ['node', 'bin/p2pemu.js', 'mount', '/mnt'] });
    file(`${PID}/stat`, `${PID} (node) Z 1\n`);
    expect(mem.identity(PID)).toBeUndefined();
    expect(mem.identity(-1)).toBeUndefined();
  });

  test('mount users: a working directory, an open file or a mapping under the mount point, never a sibling path', () => {
    const link = (pid: number, what: string, target: string) => {
      mkdirSync(join(root, String(pid), what, '..'), { recursive: true });
      symlinkSync(target, join(root, String(pid), what));
    };
    link(500, 'cwd', '/mnt/p2p/sys/bus/pci');
    file('500/comm', 'bash\n');
    link(501, 'cwd', '/home');
    link(501, 'fd/3', '/mnt/p2p/dev/nvme0n1');
    file('501/maps', '7f0000000000-7f0000001000 rw-s 00000000 00:2a 17   /mnt/p2p/sys/bus/pci/devices/0000:05:00.0/p2pmem/allocate (deleted)\n');
    file('501/comm', 'python3\n');
    link(502, 'cwd', '/mnt/p2p2');
    file('502/comm', 'ls\n');
    expect(formatMountUsers(mountUsers(mem, '/mnt/p2p'))).toBe('500 (bash: cwd), 501 (python3: fd 3, map)');
  });
});

describe('TaskFiles: a reader thread\'s kept /proc files', () => {
  test('decodes a caller\'s call as CallerMemory does, and sees a new call and a moved file position on the same open files', () => {
    const kept = new TaskFiles(root, true);
    syscall(TID, SYS.read, 5, 0x10000, 8192);
    file(`${PID}/fdinfo/5`, 'pos:\t4096\nflags:\t0140002\n');
    expect(rangesOfCall(kept, TID, kept.syscall(TID), 8192, 4096)).toEqual([{ addr: 0x10000 + 4096, len: 4096 }]);
    // the same files, read again: a later call at a later position
    syscall(TID, SYS.read, 5, 0x20000, 8192);
    file(`${PID}/fdinfo/5`, 'pos:\t65536\nflags:\t0140002\n');
    expect(rangesOfCall(kept, TID, kept.syscall(TID), 65536, 4096)).toEqual([{ addr: 0x20000, len: 4096 }]);
    kept.close();
  });

  test('a task that is gone reads as in no call', () => {
    const kept = new TaskFiles(root, true);
    expect(kept.syscall(99999)).toBeUndefined();
    syscall(TID, 'running');
    expect(kept.syscall(TID)).toBe('running');
    kept.close();
  });
});
