// Files whose mappings hold memory an O_DIRECT buffer may lie in, by node id:
// p2pmem allocations (once sized at their first fault) and PFN maps (the
// dma-buf files). With them a caller's user ranges become a request's
// segments: host memory, (allocation, offset), or a PFN map. Reader threads
// see two words of it: how many such files exist (O_DIRECT on a namespace is
// decided, not just served, only while some do) and a generation that changes
// with the set; and a copy of the set itself (direct-share.ts), published
// before the generation moves.

import { callerMemory, type CallerMemory, type SubmittedBuffer, type UserRange } from '../caller-memory/index.js';
import { allocationRef, type IoSegment, type P2pAllocationRef, type SegmentMemory } from '../model/index.js';
import type { P2pAllocation } from '../model/index.js';

export type MappedMemory = { kind: 'p2p'; alloc: P2pAllocation } | { kind: 'pfnmap'; what: string };

/** A request segment with the caller's address of its first byte (the model ignores it; moving a passthrough's data needs it). */
export type UserSegment = IoSegment & { addr: number };

/** Index of the file count and of the generation in P2pMappings.shared. */
export const MAPPED_FILES = 0;
export const MAPPINGS_GENERATION = 1;

/** cached views of process mappings kept at most (a cache, not a registry) */
const PROCESSES_KEPT = 1024;

export class P2pMappings {
  /** [MAPPED_FILES, MAPPINGS_GENERATION], shared with the reader threads */
  readonly shared = new Int32Array(new SharedArrayBuffer(8));
  private readonly byIno = new Map<number, MappedMemory>();
  private readonly perProcess = new Map<number, { generation: number; maps: ProcessMapping[] }>();
  /** told after every change of the set (the reader threads' copy is published then) */
  onChange: (() => void) | undefined;

  constructor(private readonly mem: CallerMemory = callerMemory) {}

  /** A file's mappings hold `mem` from now on (undefined: no longer). */
  set(ino: number, mem: MappedMemory | undefined): void {
    if (mem) this.byIno.set(ino, mem);
    else if (!this.byIno.delete(ino)) return;
    Atomics.store(this.shared, MAPPED_FILES, this.byIno.size);
    this.onChange?.();
    Atomics.add(this.shared, MAPPINGS_GENERATION, 1);
  }

  get generation(): number {
    return Atomics.load(this.shared, MAPPINGS_GENERATION);
  }

  /** The caller's mappings of such files, from /proc/TID/maps once per process and generation. */
  private mappingsOf(tid: number, device: string): ProcessMapping[] {
    const pid = this.mem.tgid(tid);
    const generation = this.generation;
    const hit = this.perProcess.get(pid);
    if (hit && hit.generation === generation) return hit.maps;
    const maps: ProcessMapping[] = [];
    for (const m of this.mem.mappingsOfFiles(tid, device, new Set(this.byIno.keys()))) {
      maps.push({ start: m.start, end: m.end, offset: m.offset, mem: fileMemory(this.byIno.get(m.ino)!) });
    }
    if (this.perProcess.size >= PROCESSES_KEPT) this.perProcess.clear();
    this.perProcess.set(pid, { generation, maps });
    return maps;
  }

  /** Whether task `tid`'s process maps any such file (no other /proc read is needed for a caller that maps none). */
  mapsAny(tid: number, device: string): boolean {
    return this.byIno.size > 0 && this.mappingsOf(tid, device).length > 0;
  }

  /** The segments of a request whose caller's buffer was looked for (`found`), or why it stays unclassified. */
  segmentsFound(tid: number, device: string, found: SubmittedBuffer): FoundSegments {
    return segmentsOfFound(this.byIno.size ? this.mappingsOf(tid, device) : [], found);
  }

  /**
   * The segments of a request whose buffer is `ranges` of task `tid`'s memory
   * (`device`: the mount's, as /proc/PID/maps prints it), in buffer order.
   */
  segmentsOf(tid: number, device: string, ranges: UserRange[]): UserSegment[] {
    return segmentsIn(this.byIno.size ? this.mappingsOf(tid, device) : [], ranges);
  }

  /** The files whose mappings hold such memory, as plain data (allocations by reference), for the reader threads. */
  files(): [number, FileMemory][] {
    return [...this.byIno].map(([ino, m]) => [ino, fileMemory(m)]);
  }
}

/** What a file's mappings hold, as plain data. */
export type FileMemory = { kind: 'p2p'; alloc: P2pAllocationRef } | { kind: 'pfnmap'; what: string };

/** A process's mapping of such a file. */
export interface ProcessMapping {
  start: number;
  end: number;
  /** file offset of `start` */
  offset: number;
  mem: FileMemory;
}

/** The segments of a buffer of user ranges, given the caller's mappings of P2P files, in buffer order. */
export function segmentsIn(maps: ProcessMapping[], ranges: UserRange[]): UserSegment[] {
  const out: UserSegment[] = [];
  for (const r of ranges) {
    for (let pos = r.addr, end = r.addr + r.len; pos < end; ) {
      const hit = maps.find((m) => pos >= m.start && pos < m.end);
      if (hit) {
        const n = Math.min(end, hit.end) - pos;
        out.push({ addr: pos, len: n, mem: memoryAt(hit, pos) });
        pos += n;
      } else {
        const next = Math.min(end, ...maps.filter((m) => m.start > pos).map((m) => m.start));
        out.push({ addr: pos, len: next - pos, mem: HOST });
        pos = next;
      }
    }
  }
  return out;
}

const HOST: SegmentMemory = { kind: 'host' };

function memoryAt(m: ProcessMapping, addr: number): SegmentMemory {
  if (m.mem.kind === 'pfnmap') return m.mem;
  return { kind: 'p2p', alloc: m.mem.alloc, offset: m.offset + (addr - m.start) };
}

/** A file's memory as plain data (an allocation by reference). */
const fileMemory = (m: MappedMemory): FileMemory => (m.kind === 'p2p' ? { kind: 'p2p', alloc: allocationRef(m.alloc) } : m);

export type FoundSegments = { segments: UserSegment[] } | { unclassified: string };

/** What a segment's memory is, for the decision (the offset into an allocation does not change it). */
function memoryKey(m: SegmentMemory): string {
  if (m.kind === 'p2p') return `p2p:${m.alloc.provider}:${m.alloc.pgmap}`;
  return m.kind === 'pfnmap' ? `pfnmap:${m.what}` : m.kind;
}

/**
 * A request's segments from the submissions that can be it: when several
 * can (a stale entry covering the same bytes) and their memory differs, which
 * one it is cannot be told, and the request stays unclassified.
 */
export function segmentsOfFound(maps: ProcessMapping[], found: SubmittedBuffer): FoundSegments {
  if ('unseen' in found) return { unclassified: found.unseen };
  let first: UserSegment[] | undefined;
  let key: string | undefined;
  for (const ranges of found.candidates) {
    const segments = segmentsIn(maps, ranges);
    const k = segments.map((s) => `${s.len}@${memoryKey(s.mem)}`).join(',');
    if (first === undefined) [first, key] = [segments, k];
    else if (k !== key) return { unclassified: 'several submissions cover this request and their buffers differ' };
  }
  return first ? { segments: first } : { unclassified: 'no submission covers this request' };
}
