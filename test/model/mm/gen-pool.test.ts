import { describe, expect, test } from 'vitest';
import { GenPool } from '../../../src/model/mm/gen-pool.js';

const MB = 2 ** 20;

describe('gen_pool as extents', () => {
  test('allocations are page granular and first fit', () => {
    const p = new GenPool<string>();
    p.addChunk(0x1000_0000, 0x1000_0000, 4 * MB, 'a');
    const a = p.alloc(1)!;
    const b = p.alloc(4097)!;
    expect([a.addr, a.size]).toEqual([0x1000_0000, 4096]);
    expect([b.addr, b.size]).toEqual([0x1000_1000, 8192]);
    p.free(a.addr, a.size);
    // the hole at the start is the first fit for a page-sized request
    expect(p.alloc(4096)!.addr).toBe(0x1000_0000);
    expect(p.avail).toBe(4 * MB - 3 * 4096);
  });

  test('the most recently added chunk is searched first', () => {
    const p = new GenPool<string>();
    p.addChunk(0x1000_0000, 0x1000_0000, MB, 'old');
    p.addChunk(0x2000_0000, 0x2000_0000, MB, 'new');
    expect(p.alloc(4096)!.chunk.owner).toBe('new');
    expect(p.size).toBe(2 * MB);
  });

  test('a request larger than any free extent fails even when the total would fit', () => {
    const p = new GenPool<string>();
    p.addChunk(0, 0, 4 * 4096, 'x');
    const a = p.alloc(4096)!;
    p.alloc(4096);
    p.free(a.addr, 4096);
    expect(p.avail).toBe(3 * 4096);
    expect(p.alloc(3 * 4096)).toBeUndefined();
  });

  test('freed neighbours merge back into one extent', () => {
    const p = new GenPool<string>();
    const c = p.addChunk(0, 0, 16 * 4096, 'x');
    const xs = [p.alloc(4096)!, p.alloc(4096)!, p.alloc(4096)!];
    p.free(xs[0]!.addr, 4096);
    p.free(xs[2]!.addr, 4096);
    p.free(xs[1]!.addr, 4096);
    expect(c.free).toEqual([[0, 16 * 4096]]);
  });

  test('freeing twice or outside the pool is a bug, not an errno', () => {
    const p = new GenPool<string>();
    p.addChunk(0, 0, MB, 'x');
    const a = p.alloc(4096)!;
    p.free(a.addr, 4096);
    expect(() => p.free(a.addr, 4096)).toThrow(/free already/);
    expect(() => p.free(2 * MB, 4096)).toThrow(/outside every chunk/);
  });

  test('a 128 GiB chunk costs a handful of extents, not 32 Mi page objects', () => {
    const p = new GenPool<string>();
    const c = p.addChunk(2 ** 42, 2 ** 42, 128 * 2 ** 30, 'big');
    for (let i = 0; i < 1000; i++) p.alloc(MB);
    expect(c.free).toHaveLength(1);
    expect(p.avail).toBe(128 * 2 ** 30 - 1000 * MB);
  });
});
