// The open-file table the main thread fills and the reader threads read: what
// a reader sees over the same shared buffers is what the main thread put there.
import { describe, expect, test } from 'vitest';
import { HANDLE_CAPACITY, HandleTable } from '../../src/fuse/handle-table.js';

const backing = { id: 7, fd: 42, offset: 8192, size: 1 << 20, writable: true, directAlign: 512, checkDirect: true, statsSlot: 3 };

/** A table and a second view of its buffers, as a reader thread has. */
function tables() {
  const main = new HandleTable();
  return { main, reader: new HandleTable(main.buffers) };
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

  test('O_DIRECT goes to the main thread only for backings that ask for the check, and only while the check is on', () => {
    const { main, reader } = tables();
    const checked = main.open('ns', backing);
    const plain = main.open('bar', { ...backing, checkDirect: false });
    expect(reader.directNeedsMain(checked)).toBe(false);
    main.setDirectIoCheck(true);
    expect([reader.directNeedsMain(checked), reader.directNeedsMain(plain)]).toEqual([true, false]);
  });

  test('what readers serve is counted per stats slot, reads and writes apart', () => {
    const { main, reader } = tables();
    const fh = main.open('ns', backing);
    const other = main.open('bar', { ...backing, statsSlot: undefined });
    reader.count(fh, false, 4096);
    reader.count(fh, false, 4096);
    reader.count(fh, true, 512);
    reader.count(other, true, 1 << 20);
    expect(main.statsOf(3)).toEqual({ reads: 2, writes: 1, bytesRead: 8192, bytesWritten: 512 });
  });

  test('more open files than slots: the open fails instead of overwriting one', () => {
    const main = new HandleTable();
    for (let i = 1; i < HANDLE_CAPACITY; i++) main.open(i, undefined);
    expect(() => main.open('one too many', undefined)).toThrow(/too many open files/);
  });
});
