// The I/O path of a namespace as the model owns it: a request as the kernel
// sees one (namespace, opcode, the segments of the caller's buffer) is mapped
// (map-data.ts decides; a map type the cache lacks is computed here, logged
// the way the first DMA mapping of a pair logs it), the I/O runs, and what it
// moved is counted per (client, provider, path) and per namespace (what
// /sys/block/X/stat and the SMART log report), with what the reader threads
// served for the namespace merged in.

import { kernelError } from '../../errno.js';
import type { P2pAllocation, P2pdmaSubsystem } from '../p2pdma/index.js';
import { mapTypesIdx } from '../p2pdma/provider.js';
import type { MapType } from '../p2pdma/map-type.js';
import type { CtrlIoTotals } from './admin.js';
import type { NvmeCtrl, NvmeNamespace } from './ctrl.js';
import type { IoPathCounters, IoPathSnapshot } from './io-mirror.js';
import { decideIo, movesToDevice, type IoNamespace, type IoPiece, type IoRequest, type MapTypeTable, type P2pAllocationRef } from './map-data.js';
import { TransferStats } from './transfer-stats.js';

const PIECE_PATHS = ['p2p-switch', 'p2p-host-bridge', 'refused'] as const;

const facts = new WeakMap<NvmeNamespace, IoNamespace>();

/** A namespace's facts for the decision (one object per namespace, so it also names the namespace in the counters). */
export function ioNamespace(ns: NvmeNamespace): IoNamespace {
  let f = facts.get(ns);
  if (!f) {
    f = { name: ns.name, client: ns.ctrl.dev.bdf, clientIdx: mapTypesIdx(ns.ctrl.dev), p2pdmaQueues: ns.ctrl.p2pdmaQueues };
    facts.set(ns, f);
  }
  return f;
}

const noIo = (): CtrlIoTotals => ({ readCmds: 0, writeCmds: 0, bytesRead: 0, bytesWritten: 0 });

/** An allocation as a request names it. */
export function allocationRef(a: P2pAllocation): P2pAllocationRef {
  return { id: a.id, provider: a.provider.dev.bdf, pgmap: a.pgmap.start };
}

/** The table with one more answer (a provider without P2PDMA state gets NOT_SUPPORTED, never cached). */
function withAnswer(table: MapTypeTable, provider: string, clientIdx: number, type: MapType): MapTypeTable {
  const inner = new Map(table.get(provider) ?? []);
  inner.set(clientIdx, type);
  return new Map(table).set(provider, inner);
}

export class NvmeIoPath {
  /** per namespace: what requests through submit() moved, and its data-path slot */
  private readonly namespaces = new WeakMap<IoNamespace, { done: CtrlIoTotals; slot: number | undefined }>();
  /** DMA clients of the namespaces seen so far (reader threads get counter slots for them) */
  private readonly clients = new Set<string>();
  /** namespaces by data-path slot */
  private readonly bySlot = new Map<number, IoNamespace>();

  constructor(
    private readonly p2pdma: P2pdmaSubsystem,
    readonly stats: TransferStats = new TransferStats(),
  ) {}

  /** The pieces of a request with their paths; throws the kernel's errno, a refusal counted. */
  map(req: IoRequest): IoPiece[] {
    let table = this.p2pdma.mapTypeTable;
    for (;;) {
      const d = decideIo(req, table);
      if (d.kind === 'mapped') return d.pieces;
      if (d.kind === 'failed') {
        if (d.refused) this.stats.add(req.ns.client, d.refused.provider, 'refused', movesToDevice(req.opcode), 0);
        throw kernelError(d.errno, d.message);
      }
      // kernel: pci_p2pdma_map_type(): computed (verbosely) and cached on first use
      const host = this.p2pdma.host;
      const type = this.p2pdma.mapType(host.find(d.provider), host.find(req.ns.client));
      if (table.get(d.provider)?.get(req.ns.clientIdx) === undefined) table = withAnswer(table, d.provider, req.ns.clientIdx, type);
    }
  }

  private entry(ns: IoNamespace) {
    let e = this.namespaces.get(ns);
    if (!e) {
      e = { done: noIo(), slot: this.stats.dataPathSlot(ns.client) };
      this.namespaces.set(ns, e);
      this.clients.add(ns.client);
      if (e.slot !== undefined) this.bySlot.set(e.slot, ns);
    }
    return e;
  }

  /** Maps a request, runs its I/O (which may wait), and counts what it moved. */
  submit<T>(req: IoRequest, io: () => T): T {
    const pieces = this.map(req);
    const result = io();
    const count = () => this.count(req, pieces);
    if (result instanceof Promise) return result.then((r) => (count(), r)) as T;
    count();
    return result;
  }

  private count(req: IoRequest, pieces: IoPiece[]): void {
    const write = movesToDevice(req.opcode);
    for (const p of pieces) this.stats.add(req.ns.client, p.provider, p.path, write, p.len);
    const done = this.entry(req.ns).done;
    const bytes = pieces.reduce((n, p) => n + p.len, 0);
    if (write) {
      done.writeCmds++;
      done.bytesWritten += bytes;
    } else {
      done.readCmds++;
      done.bytesRead += bytes;
    }
  }

  /** Changes whenever snapshot() would answer differently. */
  get version(): string {
    return `${this.p2pdma.mapTypeVersion}/${this.bySlot.size}/${this.p2pdma.allProviders().length}`;
  }

  /** What a reader thread's IoPathMirror needs: the map-type table and counter slots for every (client, provider, path) there can be now. */
  snapshot(): IoPathSnapshot {
    const providers = this.p2pdma.allProviders().map((p) => p.dev.bdf);
    for (const client of this.clients) {
      this.stats.pathSlot(client, undefined, 'host');
      this.stats.pathSlot(client, undefined, 'unclassified');
      for (const provider of providers) for (const path of PIECE_PATHS) this.stats.pathSlot(client, provider, path);
    }
    return {
      mapTypes: [...this.p2pdma.mapTypeTable].map(([provider, types]) => [provider, [...types]]),
      slots: this.stats.pathSlotTable(),
      namespaces: [...this.bySlot],
    };
  }

  /** The shared counters an IoPathMirror counts in. */
  get mirrorCounters(): IoPathCounters {
    return { paths: this.stats.paths, decided: this.stats.decided };
  }

  /** The shared counter slot the reader threads count a namespace's I/O in (undefined when all are taken). */
  dataPathSlot(ns: IoNamespace): number | undefined {
    return this.entry(ns).slot;
  }

  /** Everything a namespace did: requests through here and what the reader threads served. */
  totals(ns: IoNamespace): CtrlIoTotals {
    const e = this.entry(ns);
    const d = e.slot === undefined ? undefined : this.stats.dataPathCounts(e.slot);
    return {
      readCmds: e.done.readCmds + (d?.reads ?? 0),
      writeCmds: e.done.writeCmds + (d?.writes ?? 0),
      bytesRead: e.done.bytesRead + (d?.bytesRead ?? 0),
      bytesWritten: e.done.bytesWritten + (d?.bytesWritten ?? 0),
    };
  }

  /** A controller's I/O: the sum over its namespaces (the SMART log's data units and commands). */
  ctrlTotals(ctrl: NvmeCtrl): CtrlIoTotals {
    const sum = noIo();
    for (const ns of ctrl.namespaces) {
      const t = this.totals(ioNamespace(ns));
      sum.readCmds += t.readCmds;
      sum.writeCmds += t.writeCmds;
      sum.bytesRead += t.bytesRead;
      sum.bytesWritten += t.bytesWritten;
    }
    return sum;
  }
}
