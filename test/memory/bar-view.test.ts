// The device's view of BAR memory: bytes a process has cached (and maybe
// dirtied) through its mapping win over the backing file; pages it never
// touched come from the backing file, and a hole in the cache is stepped over.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { BarView, type MappedRange } from '../../src/memory/bar-view.js';

const PAGE = 4096;
const BAR = 1 << 20;
let dir: string;
let fd: number;
let view: BarView;

/** A page cache holding `cached` (file offset → page bytes) of one node, answering RETRIEVE as the kernel does. */
function pageCache(cached: Map<number, Buffer>, calls: [number, number][]) {
  return {
    retrieve: async (_ino: number, offset: number, size: number) => {
      calls.push([offset, size]);
      // a prefix from offset that stops at the first page not in the cache
      const parts: Buffer[] = [];
      for (let p = offset; p < offset + size; p += PAGE) {
        const page = cached.get(p);
        if (!page) break;
        parts.push(page.subarray(0, Math.min(PAGE, offset + size - p)));
      }
      return Buffer.concat(parts);
    },
    inval: async () => {},
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bar-view-'));
  fd = openSync(join(dir, 'bar'), 'w+');
  writeSync(fd, Buffer.alloc(BAR, 'b'), 0, BAR, 0); // the backing file: all 'b'
  view = new BarView({ get: () => ({ fd }) });
});
afterEach(() => {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe('BarView.read', () => {
  // an allocation at BAR offset 64 KiB, 6 pages, mapped by a process as node 9
  const range: MappedRange = { ino: 9, bdf: '0000:05:00.0', bar: 4, barOffset: 65536, size: 6 * PAGE };

  test('cached pages win, the hole between them comes from the backing file, and the walk steps over it', async () => {
    const calls: [number, number][] = [];
    const cached = new Map([
      [0, Buffer.alloc(PAGE, 'c')],
      [PAGE, Buffer.alloc(PAGE, 'c')],
      [4 * PAGE, Buffer.alloc(PAGE, 'd')],
    ]);
    view.ranges.add(range);
    view.pageCache = pageCache(cached, calls);
    const out = await view.read('0000:05:00.0', 4, BAR, 65536, 6 * PAGE);
    expect(out.toString('latin1')).toBe('c'.repeat(2 * PAGE) + 'b'.repeat(2 * PAGE) + 'd'.repeat(PAGE) + 'b'.repeat(PAGE));
    // the first answer stopped at page 2 (not cached): the next question starts one page after the short answer
    expect(calls[0]).toEqual([0, 6 * PAGE]);
    expect(calls[1]![0]).toBe(3 * PAGE);
    expect(calls.length).toBeLessThanOrEqual(6);
  });

  test('a read that starts and ends inside pages takes only its own bytes of the cached pages', async () => {
    view.ranges.add(range);
    view.pageCache = pageCache(new Map([[PAGE, Buffer.from('x'.repeat(PAGE))]]), []);
    const out = await view.read('0000:05:00.0', 4, BAR, 65536 + PAGE + 100, 200);
    expect(out.toString('latin1')).toBe('x'.repeat(200));
    const before = await view.read('0000:05:00.0', 4, BAR, 65536 + PAGE - 10, 20);
    expect(before.toString('latin1')).toBe('b'.repeat(10) + 'x'.repeat(10));
  });

  test('bytes outside every mapped range, another BAR, or a node the kernel forgot come from the backing file', async () => {
    view.ranges.add(range);
    view.pageCache = {
      retrieve: async () => {
        throw Object.assign(new Error('notify failed: ENOENT'), { code: 'ENOENT' });
      },
      inval: async () => {},
    };
    expect((await view.read('0000:05:00.0', 4, BAR, 65536, PAGE)).toString('latin1')).toBe('b'.repeat(PAGE));
    view.pageCache = pageCache(new Map([[0, Buffer.alloc(PAGE, 'c')]]), []);
    expect((await view.read('0000:05:00.0', 4, BAR, 0, PAGE)).toString('latin1')).toBe('b'.repeat(PAGE));
    expect((await view.read('0000:05:00.0', 2, BAR, 65536, PAGE)).toString('latin1')).toBe('b'.repeat(PAGE));
  });
});

describe('BarView.write', () => {
  test('drops the cached pages of overlapping ranges before and after writing, and no others', async () => {
    const dropped: [number, number, number][] = [];
    view.ranges.add({ ino: 9, bdf: '0000:05:00.0', bar: 4, barOffset: 0, size: 2 * PAGE });
    view.ranges.add({ ino: 10, bdf: '0000:05:00.0', bar: 4, barOffset: 8 * PAGE, size: PAGE });
    view.pageCache = { retrieve: async () => Buffer.alloc(0), inval: async (ino, off, len) => void dropped.push([ino, off, len]) };
    await view.write('0000:05:00.0', 4, BAR, PAGE + 10, Buffer.from('hello'));
    expect(dropped).toEqual([
      [9, PAGE + 10, 5],
      [9, PAGE + 10, 5],
    ]);
    const out = Buffer.alloc(5);
    const { readSync } = await import('node:fs');
    readSync(fd, out, 0, 5, PAGE + 10);
    expect(out.toString()).toBe('hello');
  });
});
