// The device's view of BAR memory, coherent with what processes see through
// their mappings (DESIGN.md "Coherence"): a read fetches the bytes processes
// have cached (and maybe dirtied) with RETRIEVE; a write drops cached pages
// (dirty ones are written back first), writes the backing file, and drops
// again whatever was faulted in meanwhile.

import { preadSync, pwriteSync } from './fd-io.js';

/** Where each BAR's bytes are (a BarStore). */
export interface BarBackings {
  get(bdf: string, bar: number, size: number): { fd: number };
}

const PAGE = 4096;
/** the kernel answers a RETRIEVE with at most max_write bytes; ask for no more, so a short answer means a hole */
const RETRIEVE_CHUNK = 256 * 1024;

export interface PageCacheOps {
  /** cached bytes from offset: a prefix that stops at the first page not in the cache */
  retrieve(ino: number, offset: number, size: number): Promise<Buffer>;
  inval(ino: number, offset: number, size: number): Promise<void>;
}

/** A stretch of a BAR that some open file maps (an allocation's node). */
export interface MappedRange {
  ino: number;
  bdf: string;
  bar: number;
  barOffset: number;
  size: number;
}

export class BarView {
  readonly ranges = new Set<MappedRange>();
  pageCache: PageCacheOps | undefined;

  constructor(private readonly bars: BarBackings) {}

  private overlapping(bdf: string, bar: number, offset: number, len: number): { r: MappedRange; from: number; to: number }[] {
    const out: { r: MappedRange; from: number; to: number }[] = [];
    for (const r of this.ranges) {
      if (r.bdf !== bdf || r.bar !== bar) continue;
      const from = Math.max(offset, r.barOffset);
      const to = Math.min(offset + len, r.barOffset + r.size);
      if (from < to) out.push({ r, from, to });
    }
    return out;
  }

  async read(bdf: string, bar: number, barSize: number, offset: number, len: number): Promise<Buffer> {
    const b = this.bars.get(bdf, bar, barSize);
    const out = Buffer.alloc(len);
    preadSync(b.fd, out, offset);
    if (!this.pageCache) return out;
    for (const { r, from, to } of this.overlapping(bdf, bar, offset, len)) {
      // page-aligned in the file; skip each hole (its bytes are in the backing file already)
      let pos = Math.floor((from - r.barOffset) / PAGE) * PAGE;
      const end = to - r.barOffset;
      while (pos < end) {
        const ask = Math.min(end - pos, RETRIEVE_CHUNK);
        let got: Buffer;
        try {
          got = await this.pageCache.retrieve(r.ino, pos, ask);
        } catch {
          break; // the kernel no longer knows the node: nothing is cached
        }
        const barPos = r.barOffset + pos;
        const lo = Math.max(barPos, from);
        const hi = Math.min(barPos + got.length, to);
        if (hi > lo) got.copy(out, lo - offset, lo - barPos, hi - barPos);
        // a short answer stops at a page that is not cached: step over it
        pos += got.length < ask ? Math.floor(got.length / PAGE) * PAGE + PAGE : got.length;
      }
    }
    return out;
  }

  async write(bdf: string, bar: number, barSize: number, offset: number, data: Buffer): Promise<void> {
    const b = this.bars.get(bdf, bar, barSize);
    const hit = this.overlapping(bdf, bar, offset, data.length);
    const drop = async () => {
      if (!this.pageCache) return;
      for (const { r, from, to } of hit) await this.pageCache.inval(r.ino, from - r.barOffset, to - from);
    };
    await drop();
    pwriteSync(b.fd, data, offset);
    await drop();
  }
}
