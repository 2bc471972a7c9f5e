// How an I/O on a namespace maps its data for DMA, decided from the request
// alone (kernel-facts §4): GUP pins the caller's pages first (a PFN map has
// none: EFAULT; P2P pages only for a queue with BLK_FEAT_PCI_P2PDMA, else
// EREMOTEIO), then the DMA mapping looks up the map type of (provider, this
// function) once per run of pages from one pgmap, and NOT_SUPPORTED fails the
// I/O (EREMOTEIO). The inputs are plain data (the namespace's facts, the
// segments of the caller's buffer, the map-type table), so the decision can be
// made wherever the request is read; a pair the table lacks is handed back to
// whoever owns the model, who computes it as pci_p2pdma_map_type() does (io-path.ts).

import { vmaFlagsRefusal } from '../mm/gup.js';
import { MapType } from '../p2pdma/map-type.js';

/** include/linux/nvme.h: nvme_cmd_write, nvme_cmd_read; bits 1:0 of any opcode give the data direction. */
export const NvmeOpcode = { WRITE: 0x01, READ: 0x02 } as const;

/** Bits 1:0 of an NVMe opcode: 01 moves data from host memory to the controller. */
export const movesToDevice = (opcode: number): boolean => (opcode & 3) === 1;

/** What the decision needs of a namespace. */
export interface IoNamespace {
  /** "nvme0n1" */
  name: string;
  /** BDF of the NVMe function: the DMA client */
  client: string;
  /** map_types_idx() of the client */
  clientIdx: number;
  /** the queue advertises BLK_FEAT_PCI_P2PDMA */
  p2pdmaQueues: boolean;
}

/** An allocation of P2P memory as the kernel keys it: its provider and the pgmap its pages belong to. */
export interface P2pAllocationRef {
  id: number;
  /** BDF of the provider */
  provider: string;
  /** the pgmap, by its CPU physical start */
  pgmap: number;
}

/**
 * What one stretch of the caller's buffer is: host memory, P2P pages at an
 * offset into an allocation, a PFN map; or unclassified: a caller with P2P
 * mappings whose buffer the emulator could not find (moved as host memory,
 * counted apart, since a kernel might have refused it).
 */
export type SegmentMemory = { kind: 'host' } | { kind: 'p2p'; alloc: P2pAllocationRef; offset: number } | { kind: 'pfnmap'; what: string } | { kind: 'unclassified' };

export interface IoSegment {
  len: number;
  mem: SegmentMemory;
}

export interface IoRequest {
  ns: IoNamespace;
  opcode: number;
  /** the caller's buffer in order; their lengths add up to the request's */
  segments: IoSegment[];
}

export type IoPath = 'host' | 'p2p-switch' | 'p2p-host-bridge' | 'unclassified';

/** A run of the buffer that one DMA mapping decision covers (one pgmap, or host memory). */
export interface IoPiece {
  len: number;
  /** BDF of the provider; undefined for host memory (or memory not classified) */
  provider: string | undefined;
  path: IoPath;
}

/** The map-type cache as data: per provider BDF, map_types_idx(client) → map type (the kernel's per-provider xarray). */
export type MapTypeTable = ReadonlyMap<string, ReadonlyMap<number, MapType>>;

export type IoDecision =
  | { kind: 'mapped'; pieces: IoPiece[] }
  /** the I/O fails with errno; `refused` names the provider of a refusal the transfer counters count */
  | { kind: 'failed'; errno: 'EFAULT' | 'EREMOTEIO'; message: string; refused?: { provider: string } }
  /** the table has no map type for (provider, client) yet */
  | { kind: 'needs-map-type'; provider: string };

type Run = { len: number; mem: SegmentMemory };

/** Consecutive segments of one kind of memory (one pgmap for P2P) become one run, as a bio never mixes pgmaps. */
function runsOf(segments: IoSegment[]): Run[] {
  const runs: Run[] = [];
  for (const s of segments) {
    if (s.len <= 0) continue;
    const last = runs[runs.length - 1];
    if (last && sameRun(last.mem, s.mem)) last.len += s.len;
    else runs.push({ len: s.len, mem: s.mem });
  }
  return runs;
}

function sameRun(a: SegmentMemory, b: SegmentMemory): boolean {
  switch (a.kind) {
    case 'host':
    case 'unclassified':
      return b.kind === a.kind;
    case 'pfnmap':
      return b.kind === 'pfnmap' && a.what === b.what;
    case 'p2p':
      return b.kind === 'p2p' && a.alloc.provider === b.alloc.provider && a.alloc.pgmap === b.alloc.pgmap;
  }
}

// kernel: nvme_map_data(), drivers/nvme/host/pci.c; pci_p2pdma_state(), include/linux/pci-p2pdma.h
/** The decision for one request: every run's path, or the first refusal, or the map type it still needs. */
export function decideIo(req: IoRequest, mapTypes: MapTypeTable): IoDecision {
  const pieces: IoPiece[] = [];
  const ns = req.ns;
  let pgmap: number | undefined;
  let type: MapType | undefined;
  for (const run of runsOf(req.segments)) {
    const mem = run.mem;
    if (mem.kind === 'host' || mem.kind === 'unclassified') {
      pieces.push({ len: run.len, provider: undefined, path: mem.kind });
      continue;
    }
    if (mem.kind === 'pfnmap') {
      // GUP looks at the VMA first: a PFN map is refused before any P2P rule
      return { kind: 'failed', errno: 'EFAULT', message: vmaFlagsRefusal({ pfnmap: true, what: mem.what })! };
    }
    const provider = mem.alloc.provider;
    // kernel: try_grab_folio() without FOLL_PCI_P2PDMA (a queue without the feature)
    if (!ns.p2pdmaQueues) {
      return { kind: 'failed', errno: 'EREMOTEIO', message: `${ns.name}: its queue does not support P2PDMA, GUP refuses P2P pages`, refused: { provider } };
    }
    // the map type is looked up again only when the pgmap changes
    if (mem.alloc.pgmap !== pgmap) {
      type = mapTypes.get(provider)?.get(ns.clientIdx);
      if (type === undefined) return { kind: 'needs-map-type', provider };
      pgmap = mem.alloc.pgmap;
    }
    if (type === MapType.BUS_ADDR) pieces.push({ len: run.len, provider, path: 'p2p-switch' });
    else if (type === MapType.THRU_HOST_BRIDGE) pieces.push({ len: run.len, provider, path: 'p2p-host-bridge' });
    else return { kind: 'failed', errno: 'EREMOTEIO', message: `${ns.client} cannot reach P2P memory of ${provider}`, refused: { provider } };
  }
  return { kind: 'mapped', pieces };
}
