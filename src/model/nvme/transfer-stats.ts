// NVMe transfers per (client, provider, path), what `p2pemu status` and
// debugfs `transfers` show. Requests the reader threads serve straight from a
// namespace's backing (host memory, no decision needed) are counted by those
// threads in shared memory, one slot per namespace, and merged in here.

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
const HOST_MEMORY = 'host memory';

export class TransferStats {
  private readonly counts = new Map<string, TransferCount>();
  /** what reader threads served, per slot (shared with them) */
  readonly dataPath = new BigInt64Array(new SharedArrayBuffer(DATA_PATH_SLOTS * DATA_PATH_SLOT_FIELDS * 8));
  private readonly slotClients: string[] = [];

  add(client: string, provider: string | undefined, path: IoPath | 'refused', write: boolean, bytes: number): void {
    const key = `${client}|${provider ?? 'host'}|${path}`;
    let c = this.counts.get(key);
    if (!c) {
      c = { client, provider: provider ?? HOST_MEMORY, path, reads: 0, writes: 0, bytes: 0 };
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

  /** What the reader threads served for one slot. */
  dataPathCounts(slot: number): { reads: number; writes: number; bytesRead: number; bytesWritten: number } {
    const v = (i: number) => Number(Atomics.load(this.dataPath, slot * DATA_PATH_SLOT_FIELDS + i));
    return { reads: v(0), writes: v(1), bytesRead: v(2), bytesWritten: v(3) };
  }

  private dataPathRows(): TransferCount[] {
    const out: TransferCount[] = [];
    this.slotClients.forEach((client, slot) => {
      const c = this.dataPathCounts(slot);
      if (c.reads + c.writes > 0) out.push({ client, provider: HOST_MEMORY, path: 'host', reads: c.reads, writes: c.writes, bytes: c.bytesRead + c.bytesWritten });
    });
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
