// The user memory of an O_DIRECT request a process submitted asynchronously,
// when its syscall no longer names the buffer (native-notes/nvme.md "O_DIRECT
// through io_submit and io_uring"):
//   - libaio: the request is sent from io_submit, but FUSE's async DIO lets
//     io_submit return before the daemon reads it. The iocbs are found from
//     io_submit's arguments when the caller is still in it, else among the
//     iocb addresses its completion ring reported (io_event.obj) or this
//     daemon saw it submit before.
//   - io_uring: the entry stays in the process's SQE array after the kernel
//     consumed it, until the slot is reused.
// A candidate must name the request's file (its fd's inode is the request's
// node), move data in the request's direction and cover the request's byte
// range (the kernel splits one submission into several requests).

import type { SyscallState } from './caller-memory.js';
import { decodeIocb, IOCB_DATA_OPS, ringIocbAddresses, X86_64_IOCB_SIZE } from './aio-abi.js';
import { searchIocbs, type IocbSearchSource } from './iocb-search.js';
import { decodeSqe, IO_URING_FILE, IORING_OFF_SQES, IOSQE_BUFFER_SELECT, IOSQE_FIXED_FILE, SQE_SIZE, SQE_DATA_OPS, SQES_READ_MAX } from './io-uring-abi.js';
import { rangesOfCall, readIovec, RUNNING_WAIT_MS, sliceRanges, type CallSource, type UserRange } from './user-buffer.js';
import { X86_64_SYSCALLS } from './x86-64-syscalls.js';

/** What finding a submission reads of its caller (CallerMemory and TaskFiles answer it). */
export type SubmissionSource = CallSource &
  IocbSearchSource & {
  /** /proc/PID/maps */
  mapsText(pid: number): string | undefined;
  /** the process's open fd numbers */
  fds(pid: number): number[];
  /** what an fd of the process links to (a path, or "anon_inode:[io_uring]") */
  fdPath(pid: number, fd: number): string | undefined;
  /** the whole of /proc/PID/fdinfo/FD */
  fdInfoText(pid: number, fd: number): string | undefined;
  /** a task's name */
  comm(tid: number): string;
  /** the inode number of a process's fd (fdinfo "ino:") */
  fdInode(pid: number, fd: number): number | undefined;
};

/** An O_DIRECT request as the daemon got it. */
export interface DirectIo {
  /** the file's inode number (the FUSE node id) */
  node: number;
  offset: number;
  len: number;
  write: boolean;
}

/** Every submission that can be the request's (normally one), or why none can be seen. */
export type SubmittedBuffer = { candidates: UserRange[][] } | { unseen: string };

/** processes whose iocb addresses are remembered at most */
const PROCESSES_KEPT = 256;
/** iocb addresses remembered per process at most */
const IOCBS_KEPT = 4096;
/** a process whose iocbs were searched for is searched again only after this long */
const IOCB_SEARCH_MS = 100;
/** reads of a ring's fdinfo until it shows the registered files */
const FDINFO_TRIES = 16;
/** io_submit's nr read at most */
const SUBMIT_READ_MAX = 4096;
/** event-loop turns before waiting in 1 ms naps (the usual case: microseconds) */
const RUNNING_SPINS = 200;
const POSITION_OF_FILE = 0xffff_ffff_ffff_ffffn;

interface Area {
  start: number;
  end: number;
  /** the inode of the mapped file (an io_uring instance) */
  ino: number;
}

/** The SQE arrays and AIO completion rings a process maps. */
interface SubmissionAreas {
  maps: string;
  sqes: Area[];
  aioRings: Area[];
}

function submissionAreas(maps: string): { sqes: Area[]; aioRings: Area[] } {
  const sqes: Area[] = [];
  const aioRings: Area[] = [];
  for (const line of maps.split('\n')) {
    const f = line.split(/\s+/, 6);
    if (f.length < 6) continue;
    const [start, end] = f[0]!.split('-').map((h) => parseInt(h, 16));
    const area = { start: start!, end: end!, ino: Number(f[4]) };
    if (f[5] === IO_URING_FILE && parseInt(f[2]!, 16) === IORING_OFF_SQES) sqes.push(area);
    else if (f[5] === '/[aio]') aioRings.push(area);
  }
  return { sqes, aioRings };
}

export class SubmittedIo {
  /** per process, the iocb addresses seen in its io_submit calls */
  private readonly iocbsSeen = new Map<number, Set<number>>();
  /** per process, its io_uring SQE arrays and AIO rings as its maps last showed them */
  private readonly areas = new Map<number, SubmissionAreas>();
  /** per process, when its memory was last searched for iocbs */
  private readonly searched = new Map<number, number>();

  constructor(readonly mem: SubmissionSource) {}

  /** The caller's buffer for `io`: from the read/write call `tid` waits in, else from what its process submitted. */
  bufferOf(tid: number, sc: SyscallState | 'running' | undefined, io: DirectIo): SubmittedBuffer {
    const ranges = this.mem.decodesX86_64 ? rangesOfCall(this.mem, tid, sc, io.offset, io.len) : undefined;
    if (ranges) return { candidates: [ranges] };
    if (!this.mem.decodesX86_64) return { unseen: 'syscalls of this architecture are not decoded' };
    return this.find(tid, sc, io);
  }

  /**
   * bufferOf once the caller has left the CPU: the first request of a call
   * can arrive while it still runs; ask again for up to RUNNING_WAIT_MS, a
   * turn of the event loop at a time (the main thread's path).
   */
  async bufferOfBlocked(tid: number, io: DirectIo): Promise<SubmittedBuffer> {
    let sc = this.mem.syscall(tid);
    if (sc === 'running') {
      const early = this.bufferOfRunning(tid, io);
      if (early) return early;
    }
    const deadline = Date.now() + RUNNING_WAIT_MS;
    for (let i = 0; sc === 'running' && Date.now() < deadline; i++) {
      await new Promise((r) => (i < RUNNING_SPINS ? setImmediate(r) : setTimeout(r, 1)));
      sc = this.mem.syscall(tid);
    }
    return this.bufferOf(tid, sc, io);
  }

  /**
   * The buffer of a request whose caller is on a CPU, when its submission
   * tells without the syscall: a caller that reaps completions by polling
   * (libaio's userspace reaping, a busy io_uring loop) or io_uring's own
   * thread may never block. Undefined: wait for the caller to block.
   */
  bufferOfRunning(tid: number, io: DirectIo): SubmittedBuffer | undefined {
    const found = this.find(tid, 'running', io);
    return 'candidates' in found || this.isRingThread(tid) ? found : undefined;
  }

  /**
   * Whether a task is one of io_uring's own threads (the SQPOLL thread
   * "iou-sqp-PID", io-wq workers "iou-wrk-PID"): it never waits in a call
   * that names a buffer, and an SQPOLL thread may stay on a CPU for long, so
   * waiting for it to block is pointless.
   */
  isRingThread(tid: number): boolean {
    return this.mem.comm(tid).startsWith('iou-');
  }

  /** The submissions of process of `tid` (which waits in `sc`) that can be `io`. */
  find(tid: number, sc: SyscallState | 'running' | undefined, io: DirectIo): SubmittedBuffer {
    const pid = this.mem.tgid(tid);
    const match = new Matcher(this.mem, pid, io);
    if (sc && sc !== 'running' && sc.nr === X86_64_SYSCALLS.io_submit) this.fromIoSubmit(match, Number(sc.args[1]), Number(sc.args[2]));
    if (match.found.length) return { candidates: dedupe(match.found) };
    // the areas a process submits through change only at io_uring_setup/io_setup and
    // their unmapping: the last maps read is tried first, and read again on a miss
    // (a maps read costs hundreds of µs for a large process, more than the request)
    let known = this.areas.get(pid);
    if (known) {
      this.fromAreas(match, known);
      if (match.found.length) return { candidates: dedupe(match.found) };
    }
    known = this.readAreas(pid);
    const { sqes, aioRings } = known;
    this.fromAreas(match, known);
    if (aioRings.length && !match.found.length) this.fromSearch(match, known.maps);
    if (match.found.length) return { candidates: dedupe(match.found) };
    if (match.selectedBuffer) return { unseen: 'io_uring with a provided buffer (IOSQE_BUFFER_SELECT): the kernel picks it at issue' };
    if (match.fixedFile) return { unseen: "io_uring with a registered file (IOSQE_FIXED_FILE) whose table the ring's fdinfo does not show" };
    if (sqes.length) return { unseen: 'io_uring: no submission queue entry names this request (its slot reused, or SQEs not mapped)' };
    if (aioRings.length) return { unseen: 'libaio: io_submit returned before the request arrived and no iocb in its memory names it' };
    const where = sc === 'running' ? 'running' : sc ? `syscall ${sc.nr}` : 'no syscall';
    return { unseen: `buffer not visible (caller in ${where}, no io_submit or io_uring submission queue in sight)` };
  }

  private readAreas(pid: number): SubmissionAreas {
    const maps = this.mem.mapsText(pid) ?? '';
    const areas = { maps, ...submissionAreas(maps) };
    if (this.areas.size >= PROCESSES_KEPT) this.areas.clear();
    this.areas.set(pid, areas);
    return areas;
  }

  private fromAreas(match: Matcher, areas: SubmissionAreas): void {
    for (const area of areas.sqes) this.fromSqes(match, area);
    if (areas.aioRings.length) this.fromKnownIocbs(match, areas.aioRings);
  }

  private remember(pid: number, addrs: number[]): void {
    let seen = this.iocbsSeen.get(pid);
    if (!seen) {
      if (this.iocbsSeen.size >= PROCESSES_KEPT) this.iocbsSeen.clear();
      seen = new Set();
      this.iocbsSeen.set(pid, seen);
    }
    for (const a of addrs) {
      if (seen.size >= IOCBS_KEPT) seen.clear();
      seen.add(a);
    }
  }

  /** io_submit(ctx, nr, iocbpp): the iocbs it is submitting. */
  private fromIoSubmit(match: Matcher, nr: number, iocbpp: number): void {
    const n = Math.min(nr, SUBMIT_READ_MAX);
    const raw = this.mem.readMemory(match.pid, iocbpp, n * 8);
    if (!raw) return;
    const addrs: number[] = [];
    for (let i = 0; i < n; i++) addrs.push(Number(raw.readBigUInt64LE(i * 8)));
    this.remember(match.pid, addrs);
    for (const a of addrs) match.iocbAt(a);
  }

  /** The iocbs this process's completion rings reported, and those seen in its io_submit calls. */
  private fromKnownIocbs(match: Matcher, rings: Area[]): void {
    const addrs = new Set(this.iocbsSeen.get(match.pid));
    for (const r of rings) for (const a of ringIocbAddresses((addr, len) => this.mem.readMemory(match.pid, addr, len), r.start)) addrs.add(a);
    this.remember(match.pid, [...addrs]);
    for (const a of addrs) match.iocbAt(a);
  }

  /** Iocbs found by searching the process's memory (remembered, so that its next requests need no search). */
  private fromSearch(match: Matcher, maps: string): void {
    const now = Date.now();
    const last = this.searched.get(match.pid);
    if (last !== undefined && now - last < IOCB_SEARCH_MS) return;
    if (this.searched.size >= PROCESSES_KEPT) this.searched.clear();
    this.searched.set(match.pid, now);
    const fds = new Set(this.mem.fds(match.pid).filter((fd) => match.namesFile(fd)));
    const addrs = searchIocbs(this.mem, match.pid, maps, fds);
    this.remember(match.pid, addrs);
    for (const a of addrs) match.iocbAt(a);
  }

  private fromSqes(match: Matcher, area: Area): void {
    const raw = this.mem.readMemory(match.pid, area.start, Math.min(area.end - area.start, SQES_READ_MAX));
    if (!raw) return;
    const registered = new RegisteredFiles(this.mem, match, area.ino);
    for (let at = 0; at + SQE_SIZE <= raw.length; at += SQE_SIZE) match.sqe(raw, at, registered);
  }
}

/** Checks submissions against one request. */
class Matcher {
  readonly found: UserRange[][] = [];
  /** an entry with a registered file moved data in the request's direction */
  fixedFile = false;
  /** an entry on the file let the kernel pick its buffer (IOSQE_BUFFER_SELECT) */
  selectedBuffer = false;
  private readonly names = new Map<number, boolean>();

  constructor(
    private readonly mem: SubmissionSource,
    readonly pid: number,
    private readonly io: DirectIo,
  ) {}

  namesFile(fd: number): boolean {
    let v = this.names.get(fd);
    if (v === undefined) {
      v = this.mem.fdInode(this.pid, fd) === this.io.node;
      this.names.set(fd, v);
    }
    return v;
  }

  /** Keeps the part of a buffer that a submission at file position `start` moves for the request, if it covers it. */
  private cover(vector: boolean, start: number, buf: number, count: number): void {
    const iov = vector ? readIovec(this.mem, this.pid, buf, count) : [{ addr: buf, len: count }];
    if (!iov) return;
    const total = iov.reduce((n, v) => n + v.len, 0);
    if (start <= this.io.offset && this.io.offset + this.io.len <= start + total) this.found.push(sliceRanges(iov, this.io.offset - start, this.io.len));
  }

  iocbAt(addr: number): void {
    const raw = this.mem.readMemory(this.pid, addr, X86_64_IOCB_SIZE);
    if (!raw) return;
    const cb = decodeIocb(raw);
    const kind = IOCB_DATA_OPS.get(cb.opcode);
    if (!kind || kind.write !== this.io.write || !this.namesFile(cb.fd)) return;
    this.cover(kind.vector, cb.offset, cb.buf, cb.nbytes);
  }

  sqe(raw: Buffer, at: number, registered: RegisteredFiles): void {
    const e = decodeSqe(raw, at);
    const kind = SQE_DATA_OPS.get(e.opcode);
    if (!kind || kind.write !== this.io.write) return;
    const fixed = (e.flags & IOSQE_FIXED_FILE) !== 0;
    if (fixed ? !registered.namesFile(e.fd) : !this.namesFile(e.fd)) {
      if (fixed && !registered.known) this.fixedFile = true;
      return;
    }
    if (e.flags & IOSQE_BUFFER_SELECT) {
      this.selectedBuffer = true;
      return;
    }
    // a registered file's position is not the fd's: offset -1 on one is not followed
    const start = e.off !== POSITION_OF_FILE ? Number(e.off) : fixed ? undefined : this.mem.filePosition(this.pid, e.fd);
    if (start !== undefined) this.cover(kind.vector, start, e.addr, e.len);
  }

  /** The paths the process's fds on the request's file have (what a ring's registered-file table shows for it). */
  filePaths(): Set<string> {
    const out = new Set<string>();
    for (const fd of this.mem.fds(this.pid)) {
      if (!this.namesFile(fd)) continue;
      const path = this.mem.fdPath(this.pid, fd);
      if (path) out.add(path);
    }
    return out;
  }
}

/**
 * A ring's registered files (IORING_REGISTER_FILES), as its fdinfo lists
 * them ("UserFiles:\tN", then "index: path", or only the name on older
 * kernels): an entry with IOSQE_FIXED_FILE
 * names the request's file when its slot's path is that of one of the
 * process's fds on the file. Read on first use.
 */
class RegisteredFiles {
  private paths: Map<number, string> | undefined;
  private ours: Set<string> | undefined;

  constructor(
    private readonly mem: SubmissionSource,
    private readonly match: Matcher,
    private readonly ringIno: number,
  ) {}

  /** whether the ring's table could be read */
  get known(): boolean {
    return this.table().size > 0;
  }

  private table(): Map<number, string> {
    if (this.paths) return this.paths;
    this.paths = new Map();
    for (const fd of this.mem.fds(this.match.pid)) {
      if (this.mem.fdPath(this.match.pid, fd) !== IO_URING_FILE) continue;
      let info = this.mem.fdInfoText(this.match.pid, fd) ?? '';
      if (Number(/^ino:\s+(\d+)/m.exec(info)?.[1]) !== this.ringIno) continue;
      // the entries are printed only when the ring's lock could be taken at once (an SQPOLL thread holds it while it submits)
      for (let i = 0; i < FDINFO_TRIES && this.paths.size === 0; i++) {
        if (i > 0) info = this.mem.fdInfoText(this.match.pid, fd) ?? '';
        const list = /^UserFiles:\s*(\d+)\n((?:\s*\d+: [^\n]*\n)*)/m.exec(info);
        if (!list || list[1] === '0') break;
        for (const m of list[2]!.matchAll(/^\s*(\d+): (.*)$/gm)) this.paths.set(Number(m[1]), m[2]!);
      }
      break;
    }
    return this.paths;
  }

  namesFile(index: number): boolean {
    const path = this.table().get(index);
    if (path === undefined) return false;
    this.ours ??= this.match.filePaths();
    // older kernels list the file's name only, newer ones its path
    return this.ours.has(path) || (!path.includes('/') && [...this.ours].some((p) => p.endsWith(`/${path}`)));
  }
}

/** The same buffer found twice (an iocb both submitted and reported) counts once. */
function dedupe(found: UserRange[][]): UserRange[][] {
  const seen = new Map<string, UserRange[]>();
  for (const r of found) seen.set(r.map((x) => `${x.addr}+${x.len}`).join(','), r);
  return [...seen.values()];
}
