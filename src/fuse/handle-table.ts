// Open-file handles shared between the main thread and the reader workers.
// The main thread fills a slot before it answers OPEN; a worker that gets a
// READ or WRITE for a slot with a backing fd serves it without the main thread.

import type { DirectBacking } from './types.js';

export const HANDLE_CAPACITY = 1 << 16;
const FLAG_WRITABLE = 1;
const INTS = 3;

export interface HandleTableBuffers {
  ints: SharedArrayBuffer;
  floats: SharedArrayBuffer;
}

export class HandleTable {
  // ints: [fd, flags, backing id] per slot; floats: [offset, size] per slot
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly owners: (unknown | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private next = 1; // fh 0 is never handed out

  constructor(buffers?: HandleTableBuffers) {
    const b = buffers ?? HandleTable.allocate();
    this.ints = new Int32Array(b.ints);
    this.floats = new Float64Array(b.floats);
  }

  static allocate(): HandleTableBuffers {
    const ints = new SharedArrayBuffer(HANDLE_CAPACITY * INTS * 4);
    new Int32Array(ints).fill(-1);
    return { ints, floats: new SharedArrayBuffer(HANDLE_CAPACITY * 2 * 8) };
  }

  get buffers(): HandleTableBuffers {
    return { ints: this.ints.buffer as SharedArrayBuffer, floats: this.floats.buffer as SharedArrayBuffer };
  }

  /** Main thread: a new handle for an open file. */
  open(handle: unknown, backing: DirectBacking | undefined): number {
    const fh = this.freeSlots.pop() ?? this.next++;
    if (fh >= HANDLE_CAPACITY) throw new Error('too many open files on the mount');
    this.owners[fh] = handle;
    if (backing) {
      this.floats[fh * 2] = backing.offset;
      this.floats[fh * 2 + 1] = backing.size;
      Atomics.store(this.ints, fh * INTS + 1, backing.writable ? FLAG_WRITABLE : 0);
      Atomics.store(this.ints, fh * INTS + 2, backing.id);
      Atomics.store(this.ints, fh * INTS, backing.fd);
    } else {
      Atomics.store(this.ints, fh * INTS, -1);
    }
    return fh;
  }

  /** Main thread: give an open handle a backing after the fact. */
  setBacking(fh: number, backing: DirectBacking): void {
    if (this.owners[fh] === undefined || this.backingFd(fh) >= 0) return;
    this.floats[fh * 2] = backing.offset;
    this.floats[fh * 2 + 1] = backing.size;
    Atomics.store(this.ints, fh * INTS + 1, backing.writable ? FLAG_WRITABLE : 0);
    Atomics.store(this.ints, fh * INTS + 2, backing.id);
    Atomics.store(this.ints, fh * INTS, backing.fd);
  }

  /** Main thread: stop serving an open handle from its backing (a revoked allocation). */
  dropBackingOf(handle: unknown): void {
    const fh = this.owners.indexOf(handle);
    if (fh > 0) Atomics.store(this.ints, fh * INTS, -1);
  }

  handleOf(fh: number): unknown {
    return this.owners[fh];
  }

  close(fh: number): void {
    if (fh <= 0 || fh >= this.next || this.owners[fh] === undefined) return;
    Atomics.store(this.ints, fh * INTS, -1);
    this.owners[fh] = undefined;
    this.freeSlots.push(fh);
  }

  // Worker side: plain reads (the slot is written before the OPEN reply is sent).
  backingFd(fh: number): number {
    return fh > 0 && fh < HANDLE_CAPACITY ? Atomics.load(this.ints, fh * INTS) : -1;
  }

  writable(fh: number): boolean {
    return (this.ints[fh * INTS + 1]! & FLAG_WRITABLE) !== 0;
  }

  backingId(fh: number): number {
    return this.ints[fh * INTS + 2]!;
  }

  offset(fh: number): number {
    return this.floats[fh * 2]!;
  }

  size(fh: number): number {
    return this.floats[fh * 2 + 1]!;
  }
}
