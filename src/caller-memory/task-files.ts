// A caller's syscall, file positions and memory read through /proc files kept
// open, for a reader thread that classifies every O_DIRECT request of a
// process with P2P mappings: opening /proc/TID/syscall costs ~15 µs, a pread
// of the open file ~4 µs (native-notes/performance.md). A kept file stays
// bound to the task it was opened for (its struct pid): once that task is gone
// it reads ESRCH and is reopened, so a reused id never reads another process.

import { closeSync, openSync, readSync } from 'node:fs';
import { parseSyscall, type SyscallState } from './caller-memory.js';
import { SYSCALLS_ARE_X86_64 } from './x86-64-syscalls.js';

interface Task {
  syscall: number;
  tgid: number | undefined;
  /** /proc/TGID/fdinfo/FD by FD, and /proc/TGID/mem */
  fdinfo: Map<number, number>;
  mem: number | undefined;
}

/** tasks whose files a thread keeps open at most (the least recently used are closed) */
const TASKS_KEPT = 64;
/** fdinfo files kept per task */
const FDINFO_KEPT = 16;

export class TaskFiles {
  private readonly tasks = new Map<number, Task>();
  private readonly buf = Buffer.allocUnsafe(4096);

  constructor(
    readonly root = '/proc',
    readonly decodesX86_64 = SYSCALLS_ARE_X86_64,
  ) {}

  private open(path: string): number | undefined {
    try {
      return openSync(`${this.root}/${path}`, 'r');
    } catch {
      return undefined;
    }
  }

  private readText(fd: number): string | undefined {
    try {
      return this.buf.toString('latin1', 0, readSync(fd, this.buf, 0, this.buf.length, 0));
    } catch {
      return undefined;
    }
  }

  private task(tid: number): Task | undefined {
    let t = this.tasks.get(tid);
    if (t) {
      this.tasks.delete(tid); // most recently used last
      this.tasks.set(tid, t);
      return t;
    }
    const syscall = this.open(`${tid}/syscall`);
    if (syscall === undefined) return undefined;
    t = { syscall, tgid: undefined, fdinfo: new Map(), mem: undefined };
    if (this.tasks.size >= TASKS_KEPT) this.forget(this.tasks.keys().next().value!);
    this.tasks.set(tid, t);
    return t;
  }

  private forget(tid: number): void {
    const t = this.tasks.get(tid);
    if (!t) return;
    this.tasks.delete(tid);
    for (const fd of [t.syscall, ...t.fdinfo.values(), ...(t.mem === undefined ? [] : [t.mem])]) closeSync(fd);
  }

  /** The syscall a task waits in, as CallerMemory.syscall. */
  syscall(tid: number): SyscallState | 'running' | undefined {
    const t = this.task(tid);
    if (!t) return undefined;
    const text = this.readText(t.syscall);
    if (text === undefined) {
      // the task is gone: a later task with this id gets fresh files
      this.forget(tid);
      return undefined;
    }
    return parseSyscall(text);
  }

  /** The thread group of a task, read once per kept task. */
  tgid(tid: number): number {
    const t = this.task(tid);
    if (!t) return tid;
    if (t.tgid === undefined) {
      const fd = this.open(`${tid}/status`);
      const m = fd === undefined ? null : /^Tgid:\s+(\d+)/m.exec(this.readText(fd) ?? '');
      if (fd !== undefined) closeSync(fd);
      t.tgid = m ? Number(m[1]) : tid;
    }
    return t.tgid;
  }

  /** The file position of fd in process `pid` (a task this thread keeps), from its kept fdinfo file. */
  filePosition(pid: number, fd: number): number | undefined {
    const t = this.task(pid);
    if (!t) return undefined;
    let f = t.fdinfo.get(fd);
    if (f === undefined) {
      f = this.open(`${pid}/fdinfo/${fd}`);
      if (f === undefined) return undefined;
      if (t.fdinfo.size >= FDINFO_KEPT) {
        const [oldFd, oldFile] = t.fdinfo.entries().next().value!;
        t.fdinfo.delete(oldFd);
        closeSync(oldFile);
      }
      t.fdinfo.set(fd, f);
    }
    // fdinfo looks the descriptor up at each read: a closed and reopened fd reads its new file
    const m = /^pos:\s+(\d+)/m.exec(this.readText(f) ?? '');
    return m ? Number(m[1]) : undefined;
  }

  /** `len` bytes of process `pid`'s memory at `addr`, undefined unless all could be read. */
  readMemory(pid: number, addr: number, len: number): Buffer | undefined {
    const t = this.task(pid);
    if (!t) return undefined;
    t.mem ??= this.open(`${pid}/mem`);
    if (t.mem === undefined) return undefined;
    const b = Buffer.alloc(len);
    try {
      return readSync(t.mem, b, 0, len, addr) === len ? b : undefined;
    } catch {
      return undefined;
    }
  }

  /** Closes every kept file. */
  close(): void {
    for (const tid of [...this.tasks.keys()]) this.forget(tid);
  }
}
