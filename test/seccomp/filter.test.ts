// The filter `p2pemu run` installs, run by a small classic-BPF interpreter over
// seccomp_data: only the calls the supervisor answers leave the kernel; the
// I/O path and anonymous memory never do (native-notes/run.md).
import { describe, expect, test } from 'vitest';
import { AUDIT_ARCH_X86_64, buildFilter, SECCOMP_RET_ALLOW, SECCOMP_RET_USER_NOTIF, SYS } from '../../src/seccomp/filter.js';

/** What the kernel's BPF would return for one call (only the instructions the filter uses). */
function runFilter(prog: Buffer, nr: number, args: bigint[], arch = AUDIT_ARCH_X86_64): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt16LE(8 * pc);
    const jt = prog.readUInt8(8 * pc + 2);
    const jf = prog.readUInt8(8 * pc + 3);
    const k = prog.readUInt32LE(8 * pc + 4);
    if (code === 0x20) acc = data.readUInt32LE(k); // ld [k]
    else if (code === 0x06) return k; // ret k
    else if (code === 0x15) pc += acc === k ? jt : jf; // jeq
    else if (code === 0x35) pc += acc >= k ? jt : jf; // jge
    else if (code === 0x45) pc += (acc & k) !== 0 ? jt : jf; // jset
    else throw new Error(`instruction 0x${code.toString(16)} not interpreted`);
  }
  throw new Error('fell off the end');
}

const prog = buildFilter();
const MAP_SHARED = 0x01n;
const MAP_PRIVATE = 0x02n;
const MAP_ANONYMOUS = 0x20n;
const mmapArgs = (flags: bigint, fd: bigint) => [0n, 4096n, 3n, flags, fd, 0n];

describe('the run filter', () => {
  test.each([
    ['fstat', SYS.fstat],
    ['stat', SYS.stat],
    ['lstat', SYS.lstat],
    ['newfstatat', SYS.newfstatat],
    ['statx', SYS.statx],
    ['statfs', SYS.statfs],
    ['fstatfs', SYS.fstatfs],
  ])('%s goes to the supervisor', (_name, nr) => {
    expect(runFilter(prog, nr, [3n, 0n, 0n, 0n, 0n, 0n])).toBe(SECCOMP_RET_USER_NOTIF);
  });

  test('mmap of a file goes to the supervisor, shared or private', () => {
    expect(runFilter(prog, SYS.mmap, mmapArgs(MAP_SHARED, 3n))).toBe(SECCOMP_RET_USER_NOTIF);
    expect(runFilter(prog, SYS.mmap, mmapArgs(MAP_PRIVATE, 7n))).toBe(SECCOMP_RET_USER_NOTIF);
  });

  test('anonymous mmap runs at full speed, whatever the fd register holds', () => {
    expect(runFilter(prog, SYS.mmap, mmapArgs(MAP_PRIVATE | MAP_ANONYMOUS, -1n))).toBe(SECCOMP_RET_ALLOW);
    expect(runFilter(prog, SYS.mmap, mmapArgs(MAP_SHARED | MAP_ANONYMOUS, 0n))).toBe(SECCOMP_RET_ALLOW);
    expect(runFilter(prog, SYS.mmap, mmapArgs(MAP_PRIVATE, -1n))).toBe(SECCOMP_RET_ALLOW);
  });

  // read, write, pread64, pwrite64, ioctl, openat, munmap, io_uring_enter, preadv2, close
  test.each([0, 1, 17, 18, 16, 257, 11, 426, 327, 3])('syscall %i never leaves the kernel', (nr) => {
    expect(runFilter(prog, nr, [3n, 0n, 4096n, 0n, 0n, 0n])).toBe(SECCOMP_RET_ALLOW);
  });

  test('another ABI is not looked at: i386 fstat (nr 108) and x32 calls run as they are', () => {
    expect(runFilter(prog, 108, [3n, 0n, 0n, 0n, 0n, 0n], 0x40000003)).toBe(SECCOMP_RET_ALLOW);
    expect(runFilter(prog, 0x40000000 + SYS.fstat, [3n, 0n, 0n, 0n, 0n, 0n])).toBe(SECCOMP_RET_ALLOW);
  });
});
