// What the kernel decides when an O_DIRECT request on a namespace names user
// memory that is P2P memory (kernel-facts §4): the queue must advertise
// BLK_FEAT_PCI_P2PDMA (else GUP refuses the pages: EREMOTEIO), the map type of
// (provider, this NVMe function) decides (NOT_SUPPORTED: EREMOTEIO), and every
// transfer is counted per (client, provider, path).

import { kernelError } from '../../errno.js';
import { MapType, type P2pdmaSubsystem } from '../p2pdma/index.js';
import type { PciDev } from '../pci/index.js';
import type { NvmeNamespace } from './ctrl.js';

export type IoPath = 'host' | 'p2p-switch' | 'p2p-host-bridge';

/** The path one piece of a request takes; throws EREMOTEIO where the kernel fails the I/O. */
export function classifyP2p(ns: NvmeNamespace, provider: PciDev | undefined, p2pdma: P2pdmaSubsystem): IoPath {
  if (!provider) return 'host';
  // kernel: try_grab_folio() without FOLL_PCI_P2PDMA (queue without the feature)
  if (!ns.ctrl.p2pdmaQueues) throw kernelError('EREMOTEIO', `${ns.name}: its queue does not support P2PDMA, GUP refuses P2P pages`);
  // kernel: pci_p2pdma_map_type() via pci_p2pdma_state() on the DMA mapping path
  const type = p2pdma.mapType(provider, ns.ctrl.dev);
  if (type === MapType.BUS_ADDR) return 'p2p-switch';
  if (type === MapType.THRU_HOST_BRIDGE) return 'p2p-host-bridge';
  throw kernelError('EREMOTEIO', `${ns.ctrl.dev.bdf} cannot reach P2P memory of ${provider.bdf}`);
}

export interface TransferCount {
  client: string;
  provider: string;
  path: IoPath | 'refused';
  reads: number;
  writes: number;
  bytes: number;
}

/** Transfers per (client, provider, path): what `p2pemu status` and debugfs show. */
export class TransferStats {
  private readonly counts = new Map<string, TransferCount>();

  add(client: PciDev, provider: PciDev | undefined, path: IoPath | 'refused', write: boolean, bytes: number): void {
    const key = `${client.bdf}|${provider?.bdf ?? 'host'}|${path}`;
    let c = this.counts.get(key);
    if (!c) {
      c = { client: client.bdf, provider: provider?.bdf ?? 'host memory', path, reads: 0, writes: 0, bytes: 0 };
      this.counts.set(key, c);
    }
    if (write) c.writes++;
    else c.reads++;
    c.bytes += bytes;
  }

  private readonly sources: (() => TransferCount[])[] = [];

  /** Counts kept elsewhere (the data path's shared counters), merged into all(). */
  addSource(source: () => TransferCount[]): void {
    this.sources.push(source);
  }

  all(): TransferCount[] {
    const merged = new Map<string, TransferCount>();
    for (const c of [...this.counts.values(), ...this.sources.flatMap((s) => s())]) {
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
