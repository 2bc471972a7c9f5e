// Per-device P2PDMA state (struct pci_p2pdma): the pool, the publish flag,
// the map-type cache and the pgmaps of the ranges the driver registered.

import { GenPool } from '../mm/gen-pool.js';
import type { DevPagemap } from '../mm/pgmap.js';
import { BASE_FOLIOS, type FolioConfig } from '../mm/folio.js';
import type { PciDev } from '../pci/index.js';
import type { MapType } from './map-type.js';

export interface P2pdmaCounters {
  allocations: number;
  frees: number;
  bytesAllocated: number;
  failedPrivate: number;
  failedOffset: number;
  failedNoMemory: number;
  failedNoDevice: number;
  failedAlign: number;
}

export class P2pdmaProvider {
  readonly pool = new GenPool<DevPagemap>();
  published = false;
  /** map types by client key, never invalidated while the provider lives */
  readonly mapTypes = new Map<number, MapType>();
  /** for each cached map type, the inputs it was computed from (mapTypeInputs) */
  readonly mapTypeInputs = new Map<number, string>();
  readonly pgmaps: DevPagemap[] = [];
  /** set by pci_p2pdma_release(): the state is gone */
  released = false;
  readonly counters: P2pdmaCounters = {
    allocations: 0,
    frees: 0,
    bytesAllocated: 0,
    failedPrivate: 0,
    failedOffset: 0,
    failedNoMemory: 0,
    failedNoDevice: 0,
    failedAlign: 0,
  };
  /** how the memory is cut into folios (base pages in mainline) */
  folios: FolioConfig = BASE_FOLIOS;

  constructor(readonly dev: PciDev) {}
}

// kernel: map_types_idx(), drivers/pci/p2pdma.c [PCI-NEXT]
export function mapTypesIdx(client: PciDev): number {
  return client.domain * 65536 + client.bus * 256 + client.devfn;
}
