// Where the kernel decides whether a P2P alias is reachable: not in
// hmm_range_fault() (get_dma_pfn_for_device() sees no client) but when the
// caller DMA-maps each entry, hmm_dma_map_pfn() → pci_p2pdma_state() against
// the client; NOT_SUPPORTED gives DMA_MAPPING_ERROR. What the caller then does
// is the caller's: mlx5 ODP fails the device's page fault with EFAULT; the
// proposal's RFC 4/5 retries those pages without HMM_PFN_ALLOW_P2P, so they
// migrate to RAM (native-notes/hmm.md "Where reachability is decided").

import { MapType } from '../p2pdma/index.js';
import type { PciDev } from '../pci/index.js';
import type { AddressSpace } from './address-space.js';
import {
  HMM_PFN_DMA_MAPPED,
  HMM_PFN_P2PDMA,
  HMM_PFN_P2PDMA_BUS,
  HMM_PFN_VALID,
  hmmRangeFault,
  type HmmContext,
  type HmmRangeRequest,
  type HmmRangeResult,
} from './hmm.js';

export type DmaMapOutcome =
  /** system RAM, mapped the ordinary way */
  | 'mapped'
  /** P2P alias mapped with its bus address (HMM_PFN_P2PDMA_BUS) */
  | 'p2p-bus'
  /** P2P alias mapped through the host bridge (HMM_PFN_P2PDMA) */
  | 'p2p-host-bridge'
  /** DMA_MAPPING_ERROR: the client cannot reach the alias */
  | 'error'
  /** a device-private fake PFN handed to the DMA API: it maps an address with nothing behind it */
  | 'fake-address'
  /** not VALID: the caller skips it */
  | 'skipped';

// kernel: hmm_dma_map_pfn(), mm/hmm.c (≈v6.16)
/** DMA-maps entry idx of a result for `client`; sets the sticky DMA flags in the entry as the kernel does. */
export function hmmDmaMapPfn(r: HmmRangeResult, idx: number, client: PciDev, ctx: HmmContext): DmaMapOutcome {
  const pfn = r.pfns[idx]!;
  if (!(pfn & HMM_PFN_VALID)) return 'skipped';
  const kind = r.kinds[idx];
  if (kind === 'device-private') {
    // pci_p2pdma_state() sees no P2PDMA page, so the fake physical address goes to the DMA API
    r.pfns[idx] = pfn | HMM_PFN_DMA_MAPPED;
    return 'fake-address';
  }
  if (kind !== 'p2p-alias') {
    r.pfns[idx] = pfn | HMM_PFN_DMA_MAPPED;
    return 'mapped';
  }
  // kernel: pci_p2pdma_state() → pci_p2pdma_map_type(), drivers/pci/p2pdma.c
  const type = ctx.p2pdma.mapType(r.aliasOf[idx]!.owner, client);
  if (type === MapType.BUS_ADDR) {
    r.pfns[idx] = pfn | HMM_PFN_P2PDMA_BUS | HMM_PFN_DMA_MAPPED;
    return 'p2p-bus';
  }
  if (type === MapType.THRU_HOST_BRIDGE) {
    r.pfns[idx] = pfn | HMM_PFN_P2PDMA | HMM_PFN_DMA_MAPPED;
    return 'p2p-host-bridge';
  }
  return 'error';
}

/** What a driver does with a DMA_MAPPING_ERROR. */
export type OnMapError =
  /** mlx5's populate_mtt(): -EFAULT, the device's page fault fails */
  | 'fail'
  /** the proposal's RFC 4/5 for mlx5: clear ALLOW_P2P for the failed pages and fault again */
  | 'retry-without-p2p';

export interface OdpFault {
  /** the last hmm_range_fault() result */
  result: HmmRangeResult;
  outcomes: DmaMapOutcome[];
  /** P2P aliases hmm_range_fault() returned in the first pass */
  aliasesOffered: number;
  /** DMA_MAPPING_ERRORs of the first pass */
  mapErrors: number;
  /** pages migrated to RAM over both passes */
  migratedToRam: number;
  retried: boolean;
  /** set when the device's fault fails */
  errno?: 'EFAULT';
}

// kernel: pagefault_real_mr() → ib_umem_odp_map_dma_and_lock() → populate_mtt(), drivers/infiniband/hw/mlx5/odp.c
/** A device with on-demand paging faults a range for itself: hmm_range_fault(), then DMA-map every entry. */
export function odpFault(as: AddressSpace, req: HmmRangeRequest, client: PciDev, ctx: HmmContext, onMapError: OnMapError): OdpFault {
  let result = hmmRangeFault(as, req, ctx);
  let outcomes = result.pfns.map((_, i) => hmmDmaMapPfn(result, i, client, ctx));
  const failed = new Set(outcomes.flatMap((o, i) => (o === 'error' ? [req.first + i] : [])));
  const out: OdpFault = { result, outcomes, aliasesOffered: result.p2pAliased, mapErrors: failed.size, migratedToRam: result.migratedToRam, retried: false };
  if (failed.size === 0) return out;
  if (onMapError === 'fail') return { ...out, errno: 'EFAULT' };
  result = hmmRangeFault(as, { ...req, allowP2pAt: (i) => !failed.has(i) }, ctx);
  outcomes = result.pfns.map((_, i) => hmmDmaMapPfn(result, i, client, ctx));
  return { result, outcomes, aliasesOffered: out.aliasesOffered, mapErrors: failed.size, migratedToRam: out.migratedToRam + result.migratedToRam, retried: true, errno: outcomes.includes('error') ? 'EFAULT' : undefined };
}
