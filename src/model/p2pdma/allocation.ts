// What the P2PDMA subsystem hands out and tells its users: an allocation of P2P
// memory (its provider, pgmap, bus address, folios) and the provider events the
// tree follows (a pool created, mappings zapped, the state released).

import type { DevPagemap } from '../mm/pgmap.js';
import type { FolioPolicy, PageTableEntries } from '../mm/folio.js';
import type { P2pdmaProvider } from './provider.js';

/** How one allocation is built of folios and mapped (kernel-facts §6.4, §6.5). */
export interface FolioMapping {
  policy: FolioPolicy;
  /** the largest folio in the allocation */
  folioSize: number;
  /** folio counts by order */
  folios: Map<number, number>;
  /** where the process's mapping starts (0 for kernel allocations) */
  va: number;
  /** entries for the process's actual address */
  entries: PageTableEntries;
  /** entries had the kernel chosen the address itself (get_unmapped_area aligning it) */
  entriesIfAligned: PageTableEntries;
}

export interface P2pAllocation {
  id: number;
  folio?: FolioMapping;
  provider: P2pdmaProvider;
  pgmap: DevPagemap;
  /** CPU physical address */
  addr: number;
  busAddr: number;
  size: number;
  /** BAR and byte offset in the BAR where the allocation starts */
  bar: number;
  barOffset: number;
  owner: { pid: number; comm: string };
  /** the allocation's pages were zapped by a removal */
  revoked: boolean;
}

export interface ProviderEvents {
  /** pci_p2pdma_setup_pool() created the p2pmem group */
  poolCreated?(provider: P2pdmaProvider): void;
  /** pci_p2pdma_unmap_mappings(): allocate goes away and user mappings are zapped */
  unmapMappings?(provider: P2pdmaProvider, allocations: P2pAllocation[]): void | Promise<void>;
  /** pci_p2pdma_release(): the p2pmem group goes away */
  released?(provider: P2pdmaProvider): void;
}
