// A genalloc pool (lib/genalloc.c) as free extents, never per-page objects:
// page-granular first fit, chunks searched newest first (gen_pool_add_owner
// puts a new chunk at the head of the list).

import { kernelError } from '../../errno.js';

export const PAGE_SIZE = 4096;

export interface PoolChunk<O> {
  /** CPU physical start of the chunk (the "virtual" address column) */
  start: number;
  /** PCI bus address of the chunk start (the "phys" column: gen_pool_virt_to_phys gives bus addresses) */
  busStart: number;
  size: number;
  owner: O;
  /** free extents as [offset, length] pairs, sorted by offset, never adjacent */
  free: [number, number][];
}

export interface PoolAllocation<O> {
  addr: number;
  busAddr: number;
  size: number;
  chunk: PoolChunk<O>;
}

const roundUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

export class GenPool<O> {
  /** newest chunk first */
  readonly chunks: PoolChunk<O>[] = [];

  // kernel: gen_pool_add_owner(), lib/genalloc.c
  addChunk(start: number, busStart: number, size: number, owner: O): PoolChunk<O> {
    const chunk: PoolChunk<O> = { start, busStart, size, owner, free: [[0, size]] };
    this.chunks.unshift(chunk);
    return chunk;
  }

  // kernel: gen_pool_size()
  get size(): number {
    return this.chunks.reduce((s, c) => s + c.size, 0);
  }

  // kernel: gen_pool_avail()
  get avail(): number {
    let n = 0;
    for (const c of this.chunks) for (const [, len] of c.free) n += len;
    return n;
  }

  // kernel: gen_pool_alloc_owner() with gen_pool_first_fit
  alloc(size: number): PoolAllocation<O> | undefined {
    return this.allocAligned(size, PAGE_SIZE);
  }

  // kernel: gen_pool_first_fit_align() / gen_pool_first_fit_order_align()
  /** First fit whose start address is a multiple of `align` (a power of two ≥ one page). */
  allocAligned(size: number, align: number): PoolAllocation<O> | undefined {
    if (size <= 0) return undefined;
    const want = roundUp(size);
    for (const chunk of this.chunks) {
      for (let i = 0; i < chunk.free.length; i++) {
        const [off, len] = chunk.free[i]!;
        const addr = chunk.start + off;
        const at = Math.ceil(addr / align) * align - chunk.start;
        const lead = at - off;
        if (lead + want > len) continue;
        // carve [at, at+want) out of the extent, keeping what is left on either side
        const rest: [number, number][] = [];
        if (lead > 0) rest.push([off, lead]);
        if (len - lead - want > 0) rest.push([at + want, len - lead - want]);
        chunk.free.splice(i, 1, ...rest);
        return { addr: chunk.start + at, busAddr: chunk.busStart + at, size: want, chunk };
      }
    }
    return undefined;
  }

  /** Per free extent, the bytes of it that lie between `align` boundaries. */
  private *alignedBlocks(align: number): Generator<number> {
    for (const c of this.chunks) {
      for (const [off, len] of c.free) {
        const a = Math.ceil((c.start + off) / align) * align;
        const b = Math.floor((c.start + off + len) / align) * align;
        if (b > a) yield b - a;
      }
    }
  }

  /** Free bytes that lie in whole `align`-aligned blocks (what an aligned allocation could still get). */
  alignedFree(align: number): number {
    let n = 0;
    for (const bytes of this.alignedBlocks(align)) n += bytes;
    return n;
  }

  /** The largest free block that starts and ends on `align` boundaries (the biggest aligned mapping still possible). */
  largestAlignedFree(align: number): number {
    let n = 0;
    for (const bytes of this.alignedBlocks(align)) n = Math.max(n, bytes);
    return n;
  }

  /** The largest free extent. */
  largestFree(): number {
    let n = 0;
    for (const c of this.chunks) for (const [, len] of c.free) n = Math.max(n, len);
    return n;
  }

  // kernel: gen_pool_free_owner()
  free(addr: number, size: number): void {
    const want = roundUp(size);
    const chunk = this.chunks.find((c) => addr >= c.start && addr + want <= c.start + c.size);
    // Freeing what was never handed out is a bug in the caller (the kernel BUGs).
    if (!chunk) throw new Error(`gen_pool_free of ${addr.toString(16)}+${want} outside every chunk`);
    const off = addr - chunk.start;
    const f = chunk.free;
    let i = 0;
    while (i < f.length && f[i]![0] < off) i++;
    const prev = f[i - 1];
    const next = f[i];
    if ((prev && prev[0] + prev[1] > off) || (next && off + want > next[0])) {
      throw new Error(`gen_pool_free of ${addr.toString(16)}+${want}: range is (partly) free already`);
    }
    if (prev && prev[0] + prev[1] === off) {
      prev[1] += want;
      if (next && off + want === next[0]) {
        prev[1] += next[1];
        f.splice(i, 1);
      }
    } else if (next && off + want === next[0]) {
      next[0] = off;
      next[1] += want;
    } else {
      f.splice(i, 0, [off, want]);
    }
  }

  /** kernel: gen_pool_destroy() BUGs with outstanding allocations. */
  destroy(): void {
    for (const c of this.chunks) {
      if (c.free.length !== 1 || c.free[0]![1] !== c.size) throw kernelError('EBUSY', 'gen_pool_destroy with outstanding allocations');
    }
    this.chunks.length = 0;
  }
}
