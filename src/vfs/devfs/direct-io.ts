// Which user memory an O_DIRECT request moves, found while the caller waits in
// its syscall: /proc/TID/syscall gives the buffer (or the iovec array, read
// from /proc/PID/mem) and the starting file position; /proc/TID/maps says
// which of it lies in a p2pmem allocation mapping (DESIGN.md "O_DIRECT and P2P").

import { fdPosition, fileMappings, readProcessMemory, syscallArgs, tgidOf } from '../../proc.js';

const SYS = { read: 0, write: 1, pread64: 17, pwrite64: 18, readv: 19, writev: 20, preadv: 295, pwritev: 296, preadv2: 327, pwritev2: 328 };

export interface UserRange {
  addr: number;
  len: number;
}

/** How long to wait for a caller that is still on a CPU to block (a loaded machine can take a while). */
const RUNNING_WAIT_MS = 2000;
const RUNNING_SPINS = 200;

/**
 * The user memory behind [fileOffset, fileOffset+len) of the caller's current
 * read/write syscall. The first request of a syscall can arrive while the
 * caller is still running ("running" in /proc/TID/syscall): ask again shortly.
 */
export async function userRangesOf(tid: number, fileOffset: number, len: number): Promise<UserRange[] | undefined> {
  let sc = syscallArgs(tid);
  const deadline = Date.now() + RUNNING_WAIT_MS;
  // a few event-loop turns first (the usual case: microseconds), then 1 ms naps
  for (let i = 0; sc === 'running' && Date.now() < deadline; i++) {
    await new Promise((r) => (i < RUNNING_SPINS ? setImmediate(r) : setTimeout(r, 1)));
    sc = syscallArgs(tid);
  }
  if (!sc || sc === 'running') return undefined;
  const a = sc.args.map(Number);
  const pid = tgidOf(tid);
  let start: number | undefined;
  let iov: UserRange[];
  switch (sc.nr) {
    case SYS.pread64:
    case SYS.pwrite64:
      start = a[3]!;
      iov = [{ addr: a[1]!, len: a[2]! }];
      break;
    case SYS.read:
    case SYS.write:
      start = fdPosition(pid, a[0]!);
      iov = [{ addr: a[1]!, len: a[2]! }];
      break;
    case SYS.preadv:
    case SYS.pwritev:
    case SYS.preadv2:
    case SYS.pwritev2:
    case SYS.readv:
    case SYS.writev: {
      const positioned = sc.nr !== SYS.readv && sc.nr !== SYS.writev;
      // preadv2/pwritev2 with offset -1 use the file position
      start = positioned && a[3] !== -1 && sc.args[3] !== 0xffffffffffffffffn ? a[3]! : fdPosition(pid, a[0]!);
      const raw = readProcessMemory(pid, a[1]!, a[2]! * 16);
      if (!raw) return undefined;
      iov = [];
      for (let i = 0; i < a[2]!; i++) iov.push({ addr: Number(raw.readBigUInt64LE(i * 16)), len: Number(raw.readBigUInt64LE(i * 16 + 8)) });
      break;
    }
    default:
      return undefined; // io_uring, AIO, splice…: not visible from here
  }
  if (start === undefined) return undefined;
  let skip = fileOffset - start;
  let want = len;
  const out: UserRange[] = [];
  for (const seg of iov) {
    if (want <= 0) break;
    if (skip >= seg.len) {
      skip -= seg.len;
      continue;
    }
    const n = Math.min(seg.len - skip, want);
    out.push({ addr: seg.addr + skip, len: n });
    want -= n;
    skip = 0;
  }
  return out;
}

export interface P2pPiece<P> {
  len: number;
  /** undefined: host memory */
  provider: P | undefined;
  /** user address of the piece's first byte */
  addr: number;
  /** the allocation mapping it lies in (undefined: host memory) */
  mapping: P2pMapping<P> | undefined;
}

export interface P2pMapping<P> {
  start: number;
  end: number;
  provider: P;
  /** node id of the allocation file mapped there */
  ino: number;
}

/** Where a task maps the given allocation inodes (device "MM:mm" of the mount). */
export function p2pMappingsOf<P>(tid: number, dev: string, providerOfIno: Map<number, P>): P2pMapping<P>[] {
  const maps: P2pMapping<P>[] = [];
  for (const [ino, provider] of providerOfIno) {
    for (const m of fileMappings(tid, dev, ino)) maps.push({ start: m.start, end: m.end, provider, ino });
  }
  return maps;
}

/**
 * Splits user ranges into host memory and pieces that lie in P2P mappings,
 * like bio building stops at a change of pgmap.
 */
export function splitByProvider<P>(ranges: UserRange[], maps: P2pMapping<P>[]): P2pPiece<P>[] {
  const pieces: P2pPiece<P>[] = [];
  const push = (addr: number, len: number, mapping: P2pMapping<P> | undefined) => {
    const last = pieces[pieces.length - 1];
    if (last && last.mapping === mapping && last.addr + last.len === addr) last.len += len;
    else pieces.push({ addr, len, provider: mapping?.provider, mapping });
  };
  for (const r of ranges) {
    let pos = r.addr;
    const end = r.addr + r.len;
    while (pos < end) {
      const hit = maps.find((m) => pos >= m.start && pos < m.end);
      if (hit) {
        const n = Math.min(end, hit.end) - pos;
        push(pos, n, hit);
        pos += n;
      } else {
        const next = Math.min(end, ...maps.filter((m) => m.start > pos).map((m) => m.start));
        push(pos, next - pos, undefined);
        pos = next;
      }
    }
  }
  return pieces;
}
