// The open-file table the main thread fills and the reader threads read: what
// a reader sees over the same shared buffers is what the main thread put there.
import { describe, expect, test } from 'vitest';
import { HANDLE_CAPACITY, HandleTable } from '../../src/fuse/handle-table.js';

const backing = { id: 7, fd: 42, offset: 8192, size: 1 << 20, writable: true, directAlign: 512, checkDirect: true, statsSlot: 3 };

/** A table over what a filesystem shares, and a second view of its buffers, as a reader thread has. */
function tables() {
  const shared = { directCheck: new Int32Array(new SharedArrayBuffer(4)), counters: new BigInt64Array(new SharedArrayBuffer(8 * 4 * 8)) };
  const main = new HandleTable(HandleTable.allocate(shared));
  return { main, reader: new HandleTable(main.buffers), shared };
}

describe('handle table', () => {
  test('a reader sees the backing of a handle the main thread opened: fd, offset, size, rights, alignment', () => {
    const { main, reader } = tables();
    const fh = main.open('file-a', backing);
    expect(fh).toBeGreaterThan(0);
    expect([reader.backingFd(fh), reader.backingId(fh), reader.offset(fh), reader.size(fh), reader.writable(fh), reader.directAlign(fh)]).toEqual([42, 7, 8192, 1 << 20, true, 512]);
  });

  test('a handle without a backing reaches the main thread until one is set; a set backing is never replaced', () => {
    const { main, reader } = tables();
    const fh = main.open('file-b', undefined);
    expect(reader.backingFd(fh)).toBe(-1);
    main.setBacking(fh, { ...backing, fd: 50 });
    expect(reader.backingFd(fh)).toBe(50);
    main.setBacking(fh, { ...backing, fd: 51 });
    expect(reader.backingFd(fh)).toBe(50);
  });

  test('dropping the backing of one open file (a revoked allocation) leaves the others served', () => {
    const { main, reader } = tables();
    const a = main.open('a', backing);
    const b = main.open('b', backing);
    main.dropBackingOf('a');
    expect([reader.backingFd(a), reader.backingFd(b)]).toEqual([-1, 42]);
  });

  test('closed handles are reused, fh 0 never handed out, unknown handles read as unbacked', () => {
    const { main, reader } = tables();
    const a = main.open('a', backing);
    main.close(a);
    expect(reader.backingFd(a)).toBe(-1);
    expect(main.handleOf(a)).toBeUndefined();
    expect(main.open('c', undefined)).toBe(a);
    main.close(9999); // never opened: ignored
    expect([reader.backingFd(0), reader.backingFd(HANDLE_CAPACITY + 5)]).toEqual([-1, -1]);
  });

  test('O_DIRECT goes to the main thread only for backings that ask for the check, and only while the filesystem says so', () => {
    const { main, reader, shared } = tables();
    const checked = main.open('ns', backing);
    const plain = main.open('bar', { ...backing, checkDirect: false });
    expect(reader.directNeedsMain(checked)).toBe(false);
    Atomics.store(shared.directCheck, 0, 2); // two files with P2P mappings
    expect([reader.directNeedsMain(checked), reader.directNeedsMain(plain)]).toEqual([true, false]);
  });

  test('what readers serve is counted in the filesystem\'s counters, per stats slot, reads and writes apart', () => {
    const { main, reader, shared } = tables();
    const fh = main.open('ns', backing);
    const other = main.open('bar', { ...backing, statsSlot: undefined });
    const beyond = main.open('bar', { ...backing, statsSlot: 8 }); // the counters hold slots 0..7
    reader.count(fh, false, 4096);
    reader.count(fh, false, 4096);
    reader.count(fh, true, 512);
    reader.count(other, true, 1 << 20);
    reader.count(beyond, true, 1 << 20);
    expect([...shared.counters.subarray(3 * 4, 4 * 4)]).toEqual([2n, 1n, 8192n, 512n]);
    expect(shared.counters.reduce((a, b) => a + b, 0n)).toBe(2n + 1n + 8192n + 512n);
  });

  test('more open files than slots: the open fails instead of overwriting one', () => {
    const main = new HandleTable();
    for (let i = 1; i < HANDLE_CAPACITY; i++) main.open(i, undefined);
    expect(() => main.open('one too many', undefined)).toThrow(/too many open files/);
  });
});
