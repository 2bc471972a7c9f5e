// The I/O path's decision where the request is read: a reader thread holds a
// copy of what decideIo needs (the map-type table) and of the counter slots
// the owner of the model handed out, decides a request with the same
// decideIo, and counts what it moved in shared memory (transfer-stats.ts).
// What the copy cannot answer — a pair whose map type is not cached yet (its
// first computation logs, as the kernel's first DMA mapping does), a counter
// slot not handed out — goes back to the owner, who runs NvmeIoPath.

import type { MapType } from '../p2pdma/map-type.js';
import { decideIo, movesToDevice, type IoNamespace, type IoPiece, type IoRequest, type MapTypeTable } from './map-data.js';
import { DATA_PATH_SLOT_FIELDS, PATH_SLOT_FIELDS, pathKey } from './transfer-stats.js';

/** What a reader thread's copy of the I/O path holds, as plain data (NvmeIoPath.snapshot). */
export interface IoPathSnapshot {
  /** the map-type table: per provider BDF, [map_types_idx(client), map type] */
  mapTypes: [string, [number, MapType][]][];
  /** path counter slots by pathKey */
  slots: [string, number][];
  /** each namespace's facts by its data-path slot */
  namespaces: [number, IoNamespace][];
}

/** The shared counters a copy counts in (TransferStats.paths and .decided). */
export interface IoPathCounters {
  paths: BigInt64Array;
  decided: BigInt64Array;
}

export type MirrorDecision =
  /** mapped: call count() once the data has moved */
  | { kind: 'mapped'; count(): void }
  /** the I/O fails with this errno (a refusal is counted already) */
  | { kind: 'failed'; errno: 'EFAULT' | 'EREMOTEIO' }
  /** the copy cannot decide: the owner of the model must */
  | { kind: 'ask-owner' };

const ASK_OWNER: MirrorDecision = { kind: 'ask-owner' };

export class IoPathMirror {
  private table: MapTypeTable = new Map();
  private slots = new Map<string, number>();

  constructor(private readonly counters: IoPathCounters) {}

  update(s: IoPathSnapshot): void {
    this.table = new Map(s.mapTypes.map(([provider, entries]) => [provider, new Map(entries)]));
    this.slots = new Map(s.slots);
  }

  private add(slot: number, write: boolean, bytes: number): void {
    Atomics.add(this.counters.paths, slot * PATH_SLOT_FIELDS + (write ? 1 : 0), 1n);
    Atomics.add(this.counters.paths, slot * PATH_SLOT_FIELDS + 2, BigInt(bytes));
  }

  // kernel: nvme_map_data(), drivers/nvme/host/pci.c (the decision NvmeIoPath.map makes, on a copy of its table)
  /** Decides a request of the namespace whose data-path slot is nsSlot. */
  decide(req: IoRequest, nsSlot: number): MirrorDecision {
    const d = decideIo(req, this.table);
    if (d.kind === 'needs-map-type') return ASK_OWNER;
    const write = movesToDevice(req.opcode);
    if (d.kind === 'failed') {
      if (d.refused) {
        const slot = this.slots.get(pathKey(req.ns.client, d.refused.provider, 'refused'));
        if (slot === undefined) return ASK_OWNER;
        this.add(slot, write, 0);
      }
      return { kind: 'failed', errno: d.errno };
    }
    const slots: number[] = [];
    for (const p of d.pieces) {
      const slot = this.slots.get(pathKey(req.ns.client, p.provider, p.path));
      if (slot === undefined) return ASK_OWNER;
      slots.push(slot);
    }
    return { kind: 'mapped', count: () => this.count(d.pieces, slots, write, nsSlot) };
  }

  private count(pieces: IoPiece[], slots: number[], write: boolean, nsSlot: number): void {
    let bytes = 0;
    pieces.forEach((p, i) => {
      this.add(slots[i]!, write, p.len);
      bytes += p.len;
    });
    // the namespace's slot counts this request too (the reader that served it does): mark it decided
    const base = nsSlot * DATA_PATH_SLOT_FIELDS;
    Atomics.add(this.counters.decided, base + (write ? 1 : 0), 1n);
    Atomics.add(this.counters.decided, base + (write ? 3 : 2), BigInt(bytes));
  }
}
