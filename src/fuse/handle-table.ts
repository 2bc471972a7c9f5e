// Open-file handles shared between the main thread and the reader workers.
// The main thread fills a slot before it answers OPEN; a worker that gets a
// READ or WRITE for a slot with a backing fd serves it without the main thread.

import type { DataPathShared, DirectBacking } from './types.js';

export const HANDLE_CAPACITY = 1 << 16;
const FLAG_WRITABLE = 1;
const FLAG_CHECK_DIRECT = 2;
const FLAG_PAST_END_EFBIG = 4;
// ints per slot: fd, flags, backing id, O_DIRECT alignment, stats slot
const INTS = 5;
/** BigInt64 counters per stats slot: reads, writes, bytes read, bytes written */
const STATS_FIELDS = 4;

export interface HandleTableBuffers {
  ints: SharedArrayBuffer;
  floats: SharedArrayBuffer;
  /** the filesystem's DataPathShared.directCheck: word 0 non-zero routes O_DIRECT on checkDirect handles to it */
  global: SharedArrayBuffer;
  /** the filesystem's DataPathShared.counters */
  stats: SharedArrayBuffer;
}

export class HandleTable {
  // ints: INTS per slot (fd, flags, backing id, O_DIRECT alignment, stats slot); floats: [offset, size] per slot
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly global: Int32Array;
  private readonly stats: BigInt64Array;
  private readonly owners: (unknown | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private next = 1; // fh 0 is never handed out

  constructor(buffers?: HandleTableBuffers) {
    const b = buffers ?? HandleTable.allocate();
    this.ints = new Int32Array(b.ints);
    this.floats = new Float64Array(b.floats);
    this.global = new Int32Array(b.global);
    this.stats = new BigInt64Array(b.stats);
  }

  /** Fresh slots over what the filesystem shares (nothing shared: O_DIRECT never routed, nothing counted). */
  static allocate(shared?: DataPathShared): HandleTableBuffers {
    const ints = new SharedArrayBuffer(HANDLE_CAPACITY * INTS * 4);
    new Int32Array(ints).fill(-1);
    return {
      ints,
      floats: new SharedArrayBuffer(HANDLE_CAPACITY * 2 * 8),
      global: (shared?.directCheck.buffer as SharedArrayBuffer | undefined) ?? new SharedArrayBuffer(4),
      stats: (shared?.counters.buffer as SharedArrayBuffer | undefined) ?? new SharedArrayBuffer(0),
    };
  }

  get buffers(): HandleTableBuffers {
    return {
      ints: this.ints.buffer as SharedArrayBuffer,
      floats: this.floats.buffer as SharedArrayBuffer,
      global: this.global.buffer as SharedArrayBuffer,
      stats: this.stats.buffer as SharedArrayBuffer,
    };
  }

  /** Main thread: a new handle for an open file. */
  open(handle: unknown, backing: DirectBacking | undefined): number {
    const fh = this.freeSlots.pop() ?? this.next++;
    if (fh >= HANDLE_CAPACITY) throw new Error('too many open files on the mount');
    this.owners[fh] = handle;
    if (backing) this.fill(fh, backing);
    else Atomics.store(this.ints, fh * INTS, -1);
    return fh;
  }

  private fill(fh: number, backing: DirectBacking): void {
    this.floats[fh * 2] = backing.offset;
    this.floats[fh * 2 + 1] = backing.size;
    const flags =
      (backing.writable ? FLAG_WRITABLE : 0) | (backing.checkDirect ? FLAG_CHECK_DIRECT : 0) | (backing.pastEndEfbig ? FLAG_PAST_END_EFBIG : 0);
    Atomics.store(this.ints, fh * INTS + 1, flags);
    Atomics.store(this.ints, fh * INTS + 2, backing.id);
    Atomics.store(this.ints, fh * INTS + 3, backing.directAlign ?? 0);
    const slot = backing.statsSlot;
    Atomics.store(this.ints, fh * INTS + 4, slot !== undefined && slot >= 0 && (slot + 1) * STATS_FIELDS <= this.stats.length ? slot : -1);
    // the fd last: a reader that sees it sees the rest
    Atomics.store(this.ints, fh * INTS, backing.fd);
  }

  /** Main thread: give an open handle a backing after the fact. */
  setBacking(fh: number, backing: DirectBacking): void {
    if (this.owners[fh] === undefined || this.backingFd(fh) >= 0) return;
    this.fill(fh, backing);
  }

  /** Worker: must this O_DIRECT request go to the main thread? */
  directNeedsMain(fh: number): boolean {
    return (this.ints[fh * INTS + 1]! & FLAG_CHECK_DIRECT) !== 0 && Atomics.load(this.global, 0) !== 0;
  }

  /** Worker: count one request served from the backing. */
  count(fh: number, write: boolean, bytes: number): void {
    const slot = this.ints[fh * INTS + 4]!;
    if (slot < 0) return;
    Atomics.add(this.stats, slot * STATS_FIELDS + (write ? 1 : 0), 1n);
    Atomics.add(this.stats, slot * STATS_FIELDS + (write ? 3 : 2), BigInt(bytes));
  }

  /** The backing's statsSlot (-1: none). */
  statsSlot(fh: number): number {
    return this.ints[fh * INTS + 4]!;
  }

  directAlign(fh: number): number {
    return this.ints[fh * INTS + 3]!;
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

  /** A write at or past the end: EFBIG for this handle, or ENOSPC? */
  pastEndEfbig(fh: number): boolean {
    return (this.ints[fh * INTS + 1]! & FLAG_PAST_END_EFBIG) !== 0;
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
