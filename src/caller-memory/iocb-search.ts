// Where a libaio process keeps its iocbs, when neither io_submit's arguments
// nor its completion ring named them yet (its first submissions: io_submit
// returned before the daemon read the request). The iocbs are in the
// process's own writable anonymous memory (libaio callers keep each iocb
// until its completion: io_event.obj points back to it), so the present pages
// of that memory are searched for records shaped like an iocb on one of the
// process's fds open on the request's file. What is found is only a
// candidate: the request is matched against it as against any iocb.

import { IOCB_DATA_OPS, X86_64_IOCB_SIZE } from './aio-abi.js';

const PAGE = 4096;
/** bytes of a process's memory searched per search at most */
export const IOCB_SEARCH_MAX = 64 << 20;

/** What the search reads of the process. */
export interface IocbSearchSource {
  readMemory(pid: number, addr: number, len: number): Buffer | undefined;
  pagesPresent(pid: number, addr: number, npages: number): boolean[] | undefined;
}

/** Private or shared anonymous memory a program's own structures live in. */
function anonymousWritable(maps: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const line of maps.split('\n')) {
    const f = line.split(/\s+/, 6);
    if (f.length < 5 || f[1]![1] !== 'w') continue;
    const path = f[5] ?? '';
    if (path !== '' && path !== '[heap]' && path !== '[stack]' && !path.startsWith('/dev/zero') && !path.startsWith('/SYSV')) continue;
    const [start, end] = f[0]!.split('-').map((h) => parseInt(h, 16));
    out.push({ start: start!, end: end! });
  }
  return out;
}

/** Whether the 64 bytes at `at` look like an iocb on one of `fds` that moves data. */
function looksLikeIocb(b: Buffer, at: number, fds: ReadonlySet<number>): boolean {
  return (
    fds.has(b.readUInt32LE(at + 20)) &&
    IOCB_DATA_OPS.get(b.readUInt16LE(at + 16)) !== undefined &&
    // aio_reserved2 is zero (the kernel refuses anything else), aio_buf is set
    b.readBigUInt64LE(at + 48) === 0n &&
    b.readBigUInt64LE(at + 24) !== 0n
  );
}

/** Addresses of iocb-shaped records on `fds` in process `pid`'s present anonymous memory (`maps`: its /proc/PID/maps). */
export function searchIocbs(mem: IocbSearchSource, pid: number, maps: string, fds: ReadonlySet<number>): number[] {
  const found: number[] = [];
  if (fds.size === 0) return found;
  let budget = IOCB_SEARCH_MAX;
  for (const area of anonymousWritable(maps)) {
    const npages = Math.min((area.end - area.start) / PAGE, budget / PAGE);
    if (npages <= 0) break;
    const present = mem.pagesPresent(pid, area.start, npages);
    if (!present) continue;
    for (let i = 0; i < npages; ) {
      if (!present[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j < npages && present[j]) j++;
      const addr = area.start + i * PAGE;
      const b = mem.readMemory(pid, addr, (j - i) * PAGE);
      budget -= (j - i) * PAGE;
      // iocbs hold 64-bit fields: 8-byte aligned
      if (b) for (let at = 0; at + X86_64_IOCB_SIZE <= b.length; at += 8) if (looksLikeIocb(b, at, fds)) found.push(addr + at);
      i = j;
    }
  }
  return found;
}
