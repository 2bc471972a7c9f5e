// The classic-BPF program `p2pemu run` installs in the command's process: it
// sends to the supervisor only the calls FUSE cannot answer — mmap of a file
// (fd != -1, no MAP_ANONYMOUS), the stat family and statfs/fstatfs — and lets
// every other call run at full speed (SECCOMP_RET_ALLOW, no notification).

// include/uapi/linux/filter.h, bpf_common.h
const BPF_LD = 0x00;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_W = 0x00;
const BPF_ABS = 0x20;
const BPF_JEQ = 0x10;
const BPF_JGE = 0x30;
const BPF_JSET = 0x40;
const BPF_K = 0x00;

// include/uapi/linux/seccomp.h
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
// include/uapi/linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
export const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;

/** x86-64 numbers of the calls the supervisor looks at (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS = {
  stat: 4,
  fstat: 5,
  lstat: 6,
  mmap: 9,
  statfs: 137,
  fstatfs: 138,
  newfstatat: 262,
  statx: 332,
} as const;

export const MAP_ANONYMOUS = 0x20;

// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
const NR = 0;
const ARCH = 4;
/** the low 32 bits of args[i] (little endian) */
const argLow = (i: number) => 16 + 8 * i;

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k });
const jump = (code: number, k: number, jt: number, jf: number): Insn => ({ code, jt, jf, k });

/** The filter as struct sock_filter[] (8 bytes each: u16 code, u8 jt, u8 jf, u32 k). */
export function buildFilter(): Buffer {
  const notifyAlways = [SYS.stat, SYS.fstat, SYS.lstat, SYS.statfs, SYS.fstatfs, SYS.newfstatat, SYS.statx];
  const prog: Insn[] = [];
  // another ABI (i386, x32) runs unwatched: its numbers are not these
  prog.push(stmt(BPF_LD | BPF_W | BPF_ABS, ARCH));
  prog.push(jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  prog.push(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  prog.push(stmt(BPF_LD | BPF_W | BPF_ABS, NR));
  prog.push(jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
  prog.push(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  // the stat family and statfs: jump over the rest of this list and the 6 mmap instructions to NOTIFY
  const mmapInsns = 6;
  notifyAlways.forEach((nr, i) => {
    const rest = notifyAlways.length - 1 - i;
    prog.push(jump(BPF_JMP | BPF_JEQ | BPF_K, nr, rest + mmapInsns, 0));
  });
  // mmap: only with a file (not MAP_ANONYMOUS, fd != -1)
  prog.push(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS.mmap, 0, 4));
  prog.push(stmt(BPF_LD | BPF_W | BPF_ABS, argLow(3)));
  prog.push(jump(BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 2, 0));
  prog.push(stmt(BPF_LD | BPF_W | BPF_ABS, argLow(4)));
  prog.push(jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 0, 1));
  prog.push(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  prog.push(stmt(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
  const out = Buffer.alloc(8 * prog.length);
  prog.forEach((p, i) => {
    out.writeUInt16LE(p.code, 8 * i);
    out.writeUInt8(p.jt, 8 * i + 2);
    out.writeUInt8(p.jf, 8 * i + 3);
    out.writeUInt32LE(p.k >>> 0, 8 * i + 4);
  });
  return out;
}
