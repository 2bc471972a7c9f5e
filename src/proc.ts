// Facts about processes from /proc (a leaf module, usable from every layer).

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

export interface FileMapping {
  start: number;
  end: number;
  /** "rw-s": the last letter is s for MAP_SHARED, p for MAP_PRIVATE */
  perms: string;
  offset: number;
}

/**
 * The mappings of one file (device "MM:mm" in hex as /proc/PID/maps prints it,
 * and inode number) in a task's address space. Works for thread ids too.
 */
export function fileMappings(tid: number, dev: string, ino: number): FileMapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${tid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const out: FileMapping[] = [];
  const inoText = String(ino);
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode path
    const f = line.split(/\s+/, 6);
    if (f[3] !== dev || f[4] !== inoText) continue;
    const [start, end] = f[0]!.split('-').map((h) => parseInt(h, 16));
    out.push({ start: start!, end: end!, perms: f[1]!, offset: parseInt(f[2]!, 16) });
  }
  return out;
}

export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return `pid ${pid}`;
  }
}

/** The syscall number a blocked task is in, -1 when it is not in a syscall (a page fault), undefined if unknown. */
export function currentSyscall(tid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${tid}/syscall`, 'utf8').split(' ')[0]!;
    return first === 'running' ? undefined : Number(first);
  } catch {
    return undefined;
  }
}

/** The thread group (process) id of a task id. */
export function tgidOf(tid: number): number {
  try {
    const m = /^Tgid:\s+(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m ? Number(m[1]) : tid;
  } catch {
    return tid;
  }
}

/**
 * A task's current syscall: number and the six argument registers; 'running'
 * while the task is on a CPU (ask again), undefined when it is in no syscall.
 */
export function syscallArgs(tid: number): { nr: number; args: bigint[] } | 'running' | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${tid}/syscall`, 'utf8').trim();
  } catch {
    return undefined;
  }
  const f = text.split(' ');
  if (f[0] === 'running') return 'running';
  if (f[0] === '-1' || f.length < 7) return undefined;
  return { nr: Number(f[0]), args: f.slice(1, 7).map((h) => BigInt(h)) };
}

/** The file position of a task's fd (fdinfo "pos:"). */
export function fdPosition(pid: number, fd: number): number | undefined {
  try {
    const m = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `len` bytes of a process's memory at `addr` (/proc/PID/mem). */
export function readProcessMemory(pid: number, addr: number, len: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r');
    const b = Buffer.alloc(len);
    return readSync(fd, b, 0, len, addr) === len ? b : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether each page of [addr, addr + npages·4 KiB) is present in RAM (/proc/PID/pagemap bit 63). */
export function pagesPresent(pid: number, addr: number, npages: number): boolean[] | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
    const b = Buffer.alloc(npages * 8);
    readSync(fd, b, 0, b.length, (addr / 4096) * 8);
    // bit 63 of each little-endian entry is the top bit of its last byte
    const present = new Array<boolean>(npages);
    for (let i = 0; i < npages; i++) present[i] = (b[i * 8 + 7]! & 0x80) !== 0;
    return present;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface Vma {
  start: number;
  end: number;
  perms: string;
}

export function vmasOf(pid: number): Vma[] {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [range, perms] = l.split(/\s+/, 2);
        const [a, b] = range!.split('-').map((h) => parseInt(h, 16));
        return { start: a!, end: b!, perms: perms! };
      });
  } catch {
    return [];
  }
}
