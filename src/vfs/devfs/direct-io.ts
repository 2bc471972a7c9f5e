// Which of the user memory an O_DIRECT request moves (caller-memory's
// userRangesOf) lies in a p2pmem allocation mapping (DESIGN.md "O_DIRECT and P2P").

import { callerMemory, type UserRange } from '../../caller-memory/index.js';

export type { UserRange };

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
    for (const m of callerMemory.fileMappings(tid, dev, ino)) maps.push({ start: m.start, end: m.end, provider, ino });
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
