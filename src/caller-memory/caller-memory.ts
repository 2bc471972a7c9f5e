// What the kernel knows about a process that called into the mount, read from
// /proc: its thread group, name, liveness, the syscall it waits in, its
// memory map and its memory. The only module that reads /proc/PID/*; every
// reader takes the /proc root from its constructor, so tests run it against a
// fake tree. Unreadable files (the process went away) read as "unknown".

import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { SYSCALLS_ARE_X86_64 } from './x86-64-syscalls.js';

export interface FileMapping {
  start: number;
  end: number;
  /** "rw-s": the last letter is s for MAP_SHARED, p for MAP_PRIVATE */
  perms: string;
  offset: number;
}

export interface Vma {
  start: number;
  end: number;
  perms: string;
}

/** A task's current syscall: its number and the six argument registers. */
export interface SyscallState {
  nr: number;
  args: bigint[];
}

const PAGE = 4096;

/** /proc/TID/syscall's text: the call and its arguments, 'running', or undefined (in no syscall, or unreadable). */
export function parseSyscall(raw: string | undefined): SyscallState | 'running' | undefined {
  const text = raw?.trim();
  if (text === undefined) return undefined;
  const f = text.split(' ');
  if (f[0] === 'running') return 'running';
  if (f[0] === '-1' || f.length < 7) return undefined;
  return { nr: Number(f[0]), args: f.slice(1, 7).map((h) => BigInt(h)) };
}

/** The present bit of each of `npages` /proc/PID/pagemap entries. */
export function presentBits(pagemap: Buffer, npages: number): boolean[] {
  // bit 63 of each little-endian entry is the top bit of its last byte
  const present = new Array<boolean>(npages);
  for (let i = 0; i < npages; i++) present[i] = (pagemap[i * 8 + 7]! & 0x80) !== 0;
  return present;
}

export class CallerMemory {
  /**
   * @param root where /proc is (a fake tree in tests)
   * @param decodesX86_64 whether syscall numbers are x86-64's (X86_64_SYSCALLS); no other table exists
   */
  constructor(
    readonly root = '/proc',
    readonly decodesX86_64 = SYSCALLS_ARE_X86_64,
  ) {}

  private text(path: string): string | undefined {
    try {
      return readFileSync(`${this.root}/${path}`, 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Runs fn on an open fd of a /proc file; undefined when it cannot be opened or read. */
  private withFd<T>(path: string, flags: string, fn: (fd: number) => T): T | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(`${this.root}/${path}`, flags);
      return fn(fd);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** True while the process runs; a zombie (exited, not yet reaped, as under a PID 1 that never reaps) counts as gone. */
  isAlive(pid: number): boolean {
    const stat = this.text(`${pid}/stat`);
    if (stat === undefined) return false;
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  }

  /**
   * Who a live process is beyond its pid (pids are reused): its start time
   * (field 22 of /proc/PID/stat, clock ticks since boot) and command line;
   * undefined when it is gone or a zombie.
   */
  identity(pid: number): { startTime: string; cmdline: string[] } | undefined {
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const stat = this.text(`${pid}/stat`);
    const cmd = this.text(`${pid}/cmdline`);
    if (stat === undefined || cmd === undefined) return undefined;
    // the command name in parentheses may hold spaces and ')': fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    const cmdline = cmd.split('\0');
    if (cmdline[cmdline.length - 1] === '') cmdline.pop();
    return { startTime: fields[19]!, cmdline };
  }

  /** The thread group (process) id of a task id; the id itself when unknown. */
  tgid(tid: number): number {
    const m = /^Tgid:\s+(\d+)/m.exec(this.text(`${tid}/status`) ?? '');
    return m ? Number(m[1]) : tid;
  }

  comm(pid: number): string {
    return this.text(`${pid}/comm`)?.trim() ?? `pid ${pid}`;
  }

  /** The syscall number a blocked task is in; -1 when it is in none (a page fault); undefined while it runs or when unknown. */
  syscallNumber(tid: number): number | undefined {
    const first = this.text(`${tid}/syscall`)?.trim().split(' ')[0];
    return first === undefined || first === 'running' ? undefined : Number(first);
  }

  /** The syscall a task waits in; 'running' while it is on a CPU (ask again), undefined when it is in none. */
  syscall(tid: number): SyscallState | 'running' | undefined {
    return parseSyscall(this.text(`${tid}/syscall`));
  }

  /** The file position of a task's fd (fdinfo "pos:"). */
  filePosition(pid: number, fd: number): number | undefined {
    const m = /^pos:\s+(\d+)/m.exec(this.text(`${pid}/fdinfo/${fd}`) ?? '');
    return m ? Number(m[1]) : undefined;
  }

  /** The inode number of a process's fd (fdinfo "ino:"), read without touching the file. */
  fdInode(pid: number, fd: number): number | undefined {
    const m = /^ino:\s+(\d+)/m.exec(this.text(`${pid}/fdinfo/${fd}`) ?? '');
    return m ? Number(m[1]) : undefined;
  }

  /** What an fd of a process links to. */
  fdPath(pid: number, fd: number): string | undefined {
    try {
      return readlinkSync(`${this.root}/${pid}/fd/${fd}`);
    } catch {
      return undefined;
    }
  }

  /** The whole of /proc/PID/fdinfo/FD. */
  fdInfoText(pid: number, fd: number): string | undefined {
    return this.text(`${pid}/fdinfo/${fd}`);
  }

  /** A process's open fd numbers. */
  fds(pid: number): number[] {
    try {
      return readdirSync(`${this.root}/${pid}/fd`).map(Number);
    } catch {
      return [];
    }
  }

  /** /proc/PID/maps as text. */
  mapsText(pid: number): string | undefined {
    return this.text(`${pid}/maps`);
  }

  /**
   * The mappings of one file (device "MM:mm" in hex as /proc/PID/maps prints
   * it, and inode number) in a task's address space. Works for thread ids too.
   */
  fileMappings(tid: number, dev: string, ino: number): FileMapping[] {
    return this.mappingsOfFiles(tid, dev, new Set([ino])).map(({ ino: _ino, ...m }) => m);
  }

  /** The mappings of any of `inos` on device `dev`, each with its inode, from one read of /proc/TID/maps. */
  mappingsOfFiles(tid: number, dev: string, inos: ReadonlySet<number>): (FileMapping & { ino: number })[] {
    const out: (FileMapping & { ino: number })[] = [];
    if (inos.size === 0) return out;
    for (const line of (this.text(`${tid}/maps`) ?? '').split('\n')) {
      // start-end perms offset dev inode path (the path may end in " (deleted)")
      const f = line.split(/\s+/, 6);
      if (f[3] !== dev) continue;
      const ino = Number(f[4]);
      if (!inos.has(ino)) continue;
      const [start, end] = f[0]!.split('-').map((h) => parseInt(h, 16));
      out.push({ start: start!, end: end!, perms: f[1]!, offset: parseInt(f[2]!, 16), ino });
    }
    return out;
  }

  /** Every mapping of a process, in address order. */
  vmas(pid: number): Vma[] {
    return (this.text(`${pid}/maps`) ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [range, perms] = l.split(/\s+/, 2);
        const [a, b] = range!.split('-').map((h) => parseInt(h, 16));
        return { start: a!, end: b!, perms: perms! };
      });
  }

  /** Whether each page of [addr, addr + npages·4 KiB) is present in RAM (/proc/PID/pagemap bit 63). */
  pagesPresent(pid: number, addr: number, npages: number): boolean[] | undefined {
    return this.withFd(`${pid}/pagemap`, 'r', (fd) => {
      const b = Buffer.alloc(npages * 8);
      readSync(fd, b, 0, b.length, (addr / PAGE) * 8);
      return presentBits(b, npages);
    });
  }

  /** `len` bytes of a process's memory at `addr` (/proc/PID/mem), undefined unless all could be read. */
  readMemory(pid: number, addr: number, len: number): Buffer | undefined {
    return this.withFd(`${pid}/mem`, 'r', (fd) => {
      const b = Buffer.alloc(len);
      return readSync(fd, b, 0, len, addr) === len ? b : undefined;
    });
  }
}

/** The real /proc. */
export const callerMemory = new CallerMemory();
