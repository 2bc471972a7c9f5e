// NVMe transfers per (client, provider, path), what `p2pemu status` and
// debugfs `transfers` show. The reader threads count in shared memory: every
// request they serve in its namespace's slot (host memory unless they
// decided it), and the pieces of the requests they decided (IoPathMirror) in
// a slot per (client, provider, path), with what those requests added to
// their namespace's slot, so that the host row holds only the rest.

import { table } from '../text-table.js';
import type { IoPath } from './map-data.js';

export interface TransferCount {
  client: string;
  provider: string;
  path: IoPath | 'refused';
  reads: number;
  writes: number;
  bytes: number;
}

/** BigInt64 fields per data-path slot: reads, writes, bytes read, bytes written. */
export const DATA_PATH_SLOT_FIELDS = 4;
export const DATA_PATH_SLOTS = 1024;
/** BigInt64 fields per path slot: reads, writes, bytes. */
export const PATH_SLOT_FIELDS = 3;
export const PATH_SLOTS = 4096;
const HOST_MEMORY = 'host memory';
/** the provider column of a buffer the emulator could not classify */
const UNKNOWN_MEMORY = 'unknown';
const memoryLabel = (provider: string | undefined, path: IoPath | 'refused'): string => provider ?? (path === 'unclassified' ? UNKNOWN_MEMORY : HOST_MEMORY);

/** The key of a path slot. */
export const pathKey = (client: string, provider: string | undefined, path: IoPath | 'refused'): string => `${client}|${provider ?? 'host'}|${path}`;

export class TransferStats {
  private readonly counts = new Map<string, TransferCount>();
  /** what reader threads served, per slot (shared with them) */
  readonly dataPath = new BigInt64Array(new SharedArrayBuffer(DATA_PATH_SLOTS * DATA_PATH_SLOT_FIELDS * 8));
  /** per data-path slot, the part of it reader threads decided (and counted by path as well) */
  readonly decided = new BigInt64Array(new SharedArrayBuffer(DATA_PATH_SLOTS * DATA_PATH_SLOT_FIELDS * 8));
  /** what reader threads decided, per path slot (shared with them) */
  readonly paths = new BigInt64Array(new SharedArrayBuffer(PATH_SLOTS * PATH_SLOT_FIELDS * 8));
  private readonly slotClients: string[] = [];
  private readonly pathSlots = new Map<string, { slot: number; client: string; provider: string | undefined; path: IoPath | 'refused' }>();

  add(client: string, provider: string | undefined, path: IoPath | 'refused', write: boolean, bytes: number): void {
    const key = pathKey(client, provider, path);
    let c = this.counts.get(key);
    if (!c) {
      c = { client, provider: memoryLabel(provider, path), path, reads: 0, writes: 0, bytes: 0 };
      this.counts.set(key, c);
    }
    if (write) c.writes++;
    else c.reads++;
    c.bytes += bytes;
  }

  /** A data-path slot for one namespace of `client` (undefined when all are taken: that traffic goes uncounted). */
  dataPathSlot(client: string): number | undefined {
    if (this.slotClients.length >= DATA_PATH_SLOTS) return undefined;
    return this.slotClients.push(client) - 1;
  }

  /** The shared slot reader threads count (client, provider, path) in; undefined when all are taken (those requests are then decided by the model's owner). */
  pathSlot(client: string, provider: string | undefined, path: IoPath | 'refused'): number | undefined {
    const key = pathKey(client, provider, path);
    const known = this.pathSlots.get(key);
    if (known) return known.slot;
    if (this.pathSlots.size >= PATH_SLOTS) return undefined;
    const slot = this.pathSlots.size;
    this.pathSlots.set(key, { slot, client, provider, path });
    return slot;
  }

  /** Every path slot handed out so far, by key. */
  pathSlotTable(): [string, number][] {
    return [...this.pathSlots].map(([key, s]) => [key, s.slot]);
  }

  /** What the reader threads served for one slot. */
  dataPathCounts(slot: number): { reads: number; writes: number; bytesRead: number; bytesWritten: number } {
    const v = (i: number) => Number(Atomics.load(this.dataPath, slot * DATA_PATH_SLOT_FIELDS + i));
    return { reads: v(0), writes: v(1), bytesRead: v(2), bytesWritten: v(3) };
  }

  private dataPathRows(): TransferCount[] {
    const out: TransferCount[] = [];
    this.slotClients.forEach((client, slot) => {
      const c = this.dataPathCounts(slot);
      const d = (i: number) => Number(Atomics.load(this.decided, slot * DATA_PATH_SLOT_FIELDS + i));
      const reads = c.reads - d(0);
      const writes = c.writes - d(1);
      if (reads + writes > 0) out.push({ client, provider: HOST_MEMORY, path: 'host', reads, writes, bytes: c.bytesRead - d(2) + c.bytesWritten - d(3) });
    });
    for (const { slot, client, provider, path } of this.pathSlots.values()) {
      const v = (i: number) => Number(Atomics.load(this.paths, slot * PATH_SLOT_FIELDS + i));
      if (v(0) + v(1) > 0) out.push({ client, provider: memoryLabel(provider, path), path, reads: v(0), writes: v(1), bytes: v(2) });
    }
    return out;
  }

  all(): TransferCount[] {
    const merged = new Map<string, TransferCount>();
    for (const c of [...this.counts.values(), ...this.dataPathRows()]) {
      const key = `${c.client}|${c.provider}|${c.path}`;
      const m = merged.get(key);
      if (m) {
        m.reads += c.reads;
        m.writes += c.writes;
        m.bytes += c.bytes;
      } else merged.set(key, { ...c });
    }
    return [...merged.values()];
  }
}

/** The transfers as debugfs `transfers` and `p2pemu status` print them. */
export function transfersTable(counts: TransferCount[]): string {
  const rows: (string | number)[][] = [['client', 'provider', 'path', 'reads', 'writes', 'bytes']];
  for (const c of counts) rows.push([c.client, c.provider, c.path, c.reads, c.writes, c.bytes]);
  return table(rows);
}
