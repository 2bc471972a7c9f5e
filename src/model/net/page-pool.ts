// A NIC RX queue bound to device memory (devmem TCP, netlink bind-rx; kernel-facts
// §8 last paragraph): the page_pool's memory provider hands out net_iov from a
// dma-buf's DMA ranges. P2P memory must be MEMORY_DEVICE_PCI_P2PDMA or a
// dma-buf; a DEVICE_PRIVATE pgmap is refused — the position taken in the
// devmem/page-pool thread.

import { kernelError } from '../../errno.js';
import { MemoryType, type DevPagemap } from '../mm/pgmap.js';
import type { PciDev } from '../pci/index.js';
import type { DmaBuf, DmaBufAttachment, DmaBufCore } from '../dmabuf/dmabuf.js';

export type RxMemory = { kind: 'dmabuf'; buf: DmaBuf } | { kind: 'pgmap'; pgmap: DevPagemap };

export interface RxBinding {
  nic: PciDev;
  queue: number;
  source: string;
  /** net_iov count (one per page of the bound memory) */
  netIovs: number;
  attachment?: DmaBufAttachment;
}

/** The reason given for refusing device-private memory, in our words. */
export const DEVICE_PRIVATE_REFUSAL =
  'device-private pages have no CPU or DMA address (fake PFNs reached only by migrating to RAM); ' +
  'P2P memory for a page_pool must be MEMORY_DEVICE_PCI_P2PDMA, shared as a dma-buf';

export function bindRxQueue(nic: PciDev, queue: number, mem: RxMemory, dmabufs: DmaBufCore): RxBinding {
  if (mem.kind === 'pgmap') {
    if (mem.pgmap.type === MemoryType.MEMORY_DEVICE_PRIVATE) throw kernelError('EOPNOTSUPP', DEVICE_PRIVATE_REFUSAL);
    if (mem.pgmap.type !== MemoryType.MEMORY_DEVICE_PCI_P2PDMA) throw kernelError('EINVAL', `pgmap type ${mem.pgmap.type} cannot back a page_pool`);
    return { nic, queue, source: `P2PDMA pgmap at 0x${mem.pgmap.start.toString(16)}`, netIovs: mem.pgmap.size / 4096 };
  }
  // the devmem binding imports the dma-buf dynamically, peer2peer allowed
  const att = dmabufs.attach(mem.buf, nic, { allowPeer2peer: true, moveNotify: () => undefined });
  const sg = dmabufs.map(att);
  return { nic, queue, source: `dma-buf ${mem.buf.id} of ${mem.buf.exporter.bdf} (${sg[0]!.target})`, netIovs: mem.buf.size / 4096, attachment: att };
}
