// Everything one mount serves, built from a topology: the kernel model
// (PCI, P2PDMA with its providers probed, NVMe I/O path, dma-buf, HMM), the
// memory behind BARs and namespaces, and the tree over them (vfs/host-tree.ts).

import { join } from 'node:path';
import type { TopologySpec } from '../config/index.js';
import { BarStore } from '../memory/index.js';
import { BarView } from '../memory/index.js';
import { NamespaceStore } from '../memory/index.js';
import { DmaBufCore } from '../model/index.js';
import { hmmContext } from '../model/index.js';
import { bootHostModel, type HostModel } from '../model/index.js';
import { NvmeIoPath, TransferStats } from '../model/index.js';
import { buildHostTree, type HostTree } from '../vfs/index.js';

export interface EmulatedHost extends HostModel, HostTree {
  spec: TopologySpec;
  bars: BarStore;
  barView: BarView;
  stats: TransferStats;
  namespaces: NamespaceStore;
}

export function buildEmulatedHost(spec: TopologySpec, stateDir: string): EmulatedHost {
  const model = bootHostModel(spec);
  const bars = new BarStore();
  const barView = new BarView(bars);
  const namespaces = new NamespaceStore(join(stateDir, 'namespaces'));
  const io = new NvmeIoPath(model.p2pdma, new TransferStats());
  const dmabufs = new DmaBufCore(model.p2pdma, model.klog, spec.iommu);
  // HMM: the hmm-allow-p2p profile turns the proposal's path on
  const hmm = hmmContext(model, spec.profile === 'hmm-allow-p2p');
  const tree = buildHostTree({ spec, model, io, dmabufs, hmm, bars, barView, namespaces });
  return { spec, ...model, ...tree, bars, barView, stats: io.stats, namespaces };
}
