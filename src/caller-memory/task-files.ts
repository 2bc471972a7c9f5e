// A caller's syscall, file positions and memory read through /proc files kept
// open, for a reader thread that classifies every O_DIRECT request of a
// process with P2P mappings: opening /proc/TID/syscall costs ~15 µs, a pread
// of the open file ~4 µs (native-notes/performance.md). A kept file stays
// bound to the task it was opened for (its struct pid): once that task is gone
// it fails to read, and is opened again by number, so a reused id never reads
// another process.

import { closeSync, openSync, readSync } from 'node:fs';
import { CallerMemory, parseSyscall, presentBits, type SyscallState } from './caller-memory.js';
import { SYSCALLS_ARE_X86_64 } from './x86-64-syscalls.js';

interface Task {
  tgid: number | undefined;
  /** kept files by name under /proc/TID: "syscall", "mem", "fdinfo/N" */
  files: Map<string, number>;
}

/** tasks whose files a thread keeps open at most (the least recently used are closed) */
const TASKS_KEPT = 64;
/** files kept per task */
const FILES_KEPT = 16;

export class TaskFiles {
  private readonly tasks = new Map<number, Task>();
  private readonly buf = Buffer.allocUnsafe(4096);
  /** what is read whole each time (maps, fd lists, links) */
  private readonly whole: CallerMemory;

  constructor(
    readonly root = '/proc',
    readonly decodesX86_64 = SYSCALLS_ARE_X86_64,
  ) {
    this.whole = new CallerMemory(root, decodesX86_64);
  }

  private task(tid: number): Task {
    let t = this.tasks.get(tid);
    if (t) {
      this.tasks.delete(tid); // most recently used last
    } else {
      t = { tgid: undefined, files: new Map() };
      if (this.tasks.size >= TASKS_KEPT) this.forget(this.tasks.keys().next().value!);
    }
    this.tasks.set(tid, t);
    return t;
  }

  private forget(tid: number): void {
    const t = this.tasks.get(tid);
    if (!t) return;
    this.tasks.delete(tid);
    for (const fd of t.files.values()) closeSync(fd);
  }

  private open(tid: number, t: Task, name: string): number | undefined {
    try {
      const fd = openSync(`${this.root}/${tid}/${name}`, 'r');
      if (t.files.size >= FILES_KEPT) {
        const [oldName, oldFd] = t.files.entries().next().value!;
        t.files.delete(oldName);
        closeSync(oldFd);
      }
      t.files.set(name, fd);
      return fd;
    } catch {
      return undefined;
    }
  }

  private drop(t: Task, name: string): void {
    const fd = t.files.get(name);
    if (fd === undefined) return;
    t.files.delete(name);
    closeSync(fd);
  }

  /** Reads `len` bytes at `position` of a kept file into `into`; a file whose task is gone is opened again once (the id may be a new task's). */
  private pread(tid: number, name: string, into: Buffer, len: number, position: number): number | undefined {
    const t = this.task(tid);
    for (let attempt = 0; attempt < 2; attempt++) {
      const fd = t.files.get(name) ?? this.open(tid, t, name);
      if (fd === undefined) return undefined;
      try {
        return readSync(fd, into, 0, len, position);
      } catch {
        // the task it was opened for is gone: whatever was learnt of it goes too
        this.drop(t, name);
        t.tgid = undefined;
      }
    }
    return undefined;
  }

  private text(tid: number, name: string): string | undefined {
    const n = this.pread(tid, name, this.buf, this.buf.length, 0);
    return n === undefined ? undefined : this.buf.toString('latin1', 0, n);
  }

  /** The syscall a task waits in, as CallerMemory.syscall. */
  syscall(tid: number): SyscallState | 'running' | undefined {
    const text = this.text(tid, 'syscall');
    if (text === undefined) this.forget(tid);
    return parseSyscall(text);
  }

  /** The thread group of a task, read once per kept task. */
  tgid(tid: number): number {
    const t = this.task(tid);
    if (t.tgid === undefined) {
      const m = /^Tgid:\s+(\d+)/m.exec(this.text(tid, 'status') ?? '');
      this.drop(t, 'status');
      t.tgid = m ? Number(m[1]) : tid;
    }
    return t.tgid;
  }

  /** The file position of fd in process `pid` (fdinfo looks the descriptor up at each read: a reopened fd reads its new file). */
  filePosition(pid: number, fd: number): number | undefined {
    const m = /^pos:\s+(\d+)/m.exec(this.text(pid, `fdinfo/${fd}`) ?? '');
    return m ? Number(m[1]) : undefined;
  }

  /** The inode number of fd in process `pid` (fdinfo "ino:"). */
  fdInode(pid: number, fd: number): number | undefined {
    const m = /^ino:\s+(\d+)/m.exec(this.text(pid, `fdinfo/${fd}`) ?? '');
    return m ? Number(m[1]) : undefined;
  }

  /** What an fd of a process links to. */
  fdPath(pid: number, fd: number): string | undefined {
    return this.whole.fdPath(pid, fd);
  }

  /** The whole of /proc/PID/fdinfo/FD (a ring's can be longer than the kept buffer). */
  fdInfoText(pid: number, fd: number): string | undefined {
    return this.whole.fdInfoText(pid, fd);
  }

  /** A task's name. */
  comm(tid: number): string {
    return this.whole.comm(tid);
  }

  /** A process's open fd numbers. */
  fds(pid: number): number[] {
    return this.whole.fds(pid);
  }

  /** Whether each page of [addr, addr + npages·4 KiB) is present in RAM (pagemap bit 63), as CallerMemory.pagesPresent. */
  pagesPresent(pid: number, addr: number, npages: number): boolean[] | undefined {
    const b = Buffer.alloc(npages * 8);
    return this.pread(pid, 'pagemap', b, b.length, (addr / 4096) * 8) === b.length ? presentBits(b, npages) : undefined;
  }

  /** /proc/PID/maps, read whole each time (it changes with every mmap; longer than the kept buffer). */
  mapsText(pid: number): string | undefined {
    return this.whole.mapsText(pid);
  }

  /** `len` bytes of process `pid`'s memory at `addr`, undefined unless all could be read. */
  readMemory(pid: number, addr: number, len: number): Buffer | undefined {
    const b = Buffer.alloc(len);
    return this.pread(pid, 'mem', b, len, addr) === len ? b : undefined;
  }

  /** Closes every kept file. */
  close(): void {
    for (const tid of [...this.tasks.keys()]) this.forget(tid);
  }
}
