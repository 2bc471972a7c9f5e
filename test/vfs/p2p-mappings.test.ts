// A caller's buffer → the segments of a request: which parts lie in a mapping of
// a p2pmem allocation (and at which offset into it), in a dma-buf's PFN map, or
// in host memory; read from a fake /proc/TID/maps.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CallerMemory } from '../../src/caller-memory/index.js';
import type { P2pAllocation } from '../../src/model/p2pdma/index.js';
import { MAPPED_FILES, P2pMappings } from '../../src/vfs/p2p-mappings.js';

const DEV = '00:2a';
const PID = 321;
let root: string;

function maps(lines: [number, number, number][]): void {
  mkdirSync(join(root, String(PID)), { recursive: true });
  writeFileSync(join(root, `${PID}/status`), `Tgid:\t${PID}\n`);
  const text = lines.map(([start, end, ino]) => `${start.toString(16)}-${end.toString(16)} rw-s 00000000 ${DEV} ${ino}   /mnt/x`).join('\n');
  writeFileSync(join(root, `${PID}/maps`), text + '\n');
}

/** Just what a request reads of an allocation. */
const alloc = (id: number, provider: string, pgmap: number) => ({ id, provider: { dev: { bdf: provider } }, pgmap: { start: pgmap } }) as unknown as P2pAllocation;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fake-proc-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('P2pMappings', () => {
  test('a buffer across host memory, an allocation mapping and a dma-buf mapping becomes three segments with the right offsets', () => {
    const m = new P2pMappings(new CallerMemory(root, true));
    m.set(17, { kind: 'p2p', alloc: alloc(5, '0000:04:00.0', 0x4000_0000) });
    m.set(18, { kind: 'pfnmap', what: 'dma-buf 1' });
    maps([
      [0x10000, 0x30000, 17],
      [0x30000, 0x31000, 18],
    ]);
    expect(m.segmentsOf(PID, DEV, [{ addr: 0x8000, len: 0x8000 + 0x20000 + 0x800 }])).toEqual([
      { addr: 0x8000, len: 0x8000, mem: { kind: 'host' } },
      { addr: 0x10000, len: 0x20000, mem: { kind: 'p2p', alloc: { id: 5, provider: '0000:04:00.0', pgmap: 0x4000_0000 }, offset: 0 } },
      { addr: 0x30000, len: 0x800, mem: { kind: 'pfnmap', what: 'dma-buf 1' } },
    ]);
  });

  test('a buffer starting inside an allocation mapping names its offset into the allocation', () => {
    const m = new P2pMappings(new CallerMemory(root, true));
    m.set(17, { kind: 'p2p', alloc: alloc(5, '0000:04:00.0', 0x4000_0000) });
    maps([[0x10000, 0x30000, 17]]);
    expect(m.segmentsOf(PID, DEV, [{ addr: 0x12000, len: 0x1000 }])).toEqual([
      { addr: 0x12000, len: 0x1000, mem: { kind: 'p2p', alloc: { id: 5, provider: '0000:04:00.0', pgmap: 0x4000_0000 }, offset: 0x2000 } },
    ]);
  });

  test('the process view is read again once the set of files changes (a new generation), and readers see the count', () => {
    const m = new P2pMappings(new CallerMemory(root, true));
    maps([[0x10000, 0x11000, 19]]);
    expect(m.segmentsOf(PID, DEV, [{ addr: 0x10000, len: 0x1000 }])[0]!.mem.kind).toBe('host');
    const g = m.generation;
    m.set(19, { kind: 'pfnmap', what: 'dma-buf 2' });
    expect([m.generation, m.shared[MAPPED_FILES]]).toEqual([g + 1, 1]);
    expect(m.segmentsOf(PID, DEV, [{ addr: 0x10000, len: 0x1000 }])[0]!.mem.kind).toBe('pfnmap');
    m.set(19, undefined);
    expect(m.shared[MAPPED_FILES]).toBe(0);
    expect(m.segmentsOf(PID, DEV, [{ addr: 0x10000, len: 0x1000 }])[0]!.mem.kind).toBe('host');
  });
});

describe('a request found among several submissions (stale io_uring entries, iocbs found by search)', () => {
  const setup = () => {
    const m = new P2pMappings(new CallerMemory(root, true));
    m.set(17, { kind: 'p2p', alloc: alloc(5, '0000:04:00.0', 0x4000_0000) });
    maps([[0x10000, 0x30000, 17]]);
    return m;
  };

  test('candidates whose buffers are the same kind of memory decide the request (the first one)', () => {
    const found = setup().segmentsFound(PID, DEV, { candidates: [[{ addr: 0x10000, len: 4096 }], [{ addr: 0x20000, len: 4096 }]] });
    expect(found).toEqual({ segments: [{ addr: 0x10000, len: 4096, mem: { kind: 'p2p', alloc: { id: 5, provider: '0000:04:00.0', pgmap: 0x4000_0000 }, offset: 0 } }] });
  });

  test('one in P2P memory and one in host memory: which it was cannot be told, the request stays unclassified', () => {
    const found = setup().segmentsFound(PID, DEV, { candidates: [[{ addr: 0x10000, len: 4096 }], [{ addr: 0x90000, len: 4096 }]] });
    expect(found).toEqual({ unclassified: expect.stringContaining('several submissions') });
  });

  test('a buffer not found is unclassified with its reason', () => {
    expect(setup().segmentsFound(PID, DEV, { unseen: 'libaio: …' })).toEqual({ unclassified: 'libaio: …' });
  });
});
