// Everything one mount serves, built from a topology: the PCI model, the
// P2PDMA subsystem with its providers probed, the kernel log, BAR backing
// memory and the synthetic tree over them, wired so that model events (bind,
// unbind, removal) show in the tree.

import type { TopologySpec } from '../config/spec.js';
import { BarStore } from '../memory/bar-store.js';
import { BarView } from '../memory/bar-view.js';
import { NamespaceStore } from '../memory/namespace-store.js';
import { NvmeIoPath, TransferStats } from '../model/nvme/index.js';
import { NvmeView } from './nvme-view.js';
import { hmmContext } from '../model/hmm/hmm-host.js';
import { DmaBufCore, defaultFallback } from '../model/dmabuf/dmabuf.js';
import { addDmirrorNodes } from '../vfs/devfs/hmm-dmirror.js';
import { commandRegisterChanged, type NvmeDevContext } from '../vfs/devfs/nvme-dev.js';
import { join } from 'node:path';
import type { DriverCore } from '../model/drivers/index.js';
import { bootHostModel } from '../model/host-model.js';
import type { KernelLog } from '../model/klog.js';
import type { P2pdmaProvider, P2pdmaSubsystem } from '../model/p2pdma/index.js';
import type { PciHost } from '../model/pci/index.js';
import {
  addDmabufFiles,
  addP2pmemGroup,
  buildDebugfs,
  buildDmabufDebugfs,
  buildDevfs,
  InodeTable,
  P2pMappings,
  PciSysfs,
  Vfs,
  type DirNode,
  type OpenAllocations,
  type P2pmemContext,
} from '../vfs/index.js';
import { addSystemSysfs, type PciSysfsContext } from '../vfs/index.js';

export interface EmulatedHost {
  spec: TopologySpec;
  klog: KernelLog;
  pci: PciHost;
  p2pdma: P2pdmaSubsystem;
  drivers: DriverCore;
  bars: BarStore;
  barView: BarView;
  table: InodeTable;
  vfs: Vfs;
  sysfs: PciSysfs;
  openAllocations: OpenAllocations;
  stats: TransferStats;
  namespaces: NamespaceStore;
}

export function buildEmulatedHost(spec: TopologySpec, stateDir: string): EmulatedHost {
  const { klog, pci, p2pdma, drivers } = bootHostModel(spec);
  const bars = new BarStore();
  const barView = new BarView(bars);
  const table = new InodeTable();
  const stats = new TransferStats();
  const io = new NvmeIoPath(p2pdma, stats);
  const mappings = new P2pMappings();
  const vfs = new Vfs(table, { directCheck: mappings.shared, counters: stats.dataPath });
  const sysfsCtx: PciSysfsContext = { table, host: pci, klog, bars, drivers };
  const sysfs = new PciSysfs(sysfsCtx, vfs);
  const openAllocations: OpenAllocations = new Map();
  const p2pCtx: P2pmemContext = { table, vfs, p2pdma, bars, barView, mappings };

  const dmabufs = new DmaBufCore(p2pdma, klog, spec.iommu);
  const addGroup = (p: P2pdmaProvider) => {
    const dir = sysfs.dirs.get(p.dev);
    if (!dir || dir.children.has('p2pmem')) return;
    addP2pmemGroup(p2pCtx, dir, p, openAllocations);
    vfs.added(dir, 'p2pmem');
  };
  for (const p of p2pdma.allProviders()) addGroup(p);
  p2pdma.events = {
    poolCreated: addGroup,
    // kernel: pci_p2pdma_unmap_mappings(): the file goes, mappings are zapped;
    // the exporting driver revokes its dma-bufs before that (their pages hold references)
    unmapMappings: async (p) => {
      dmabufs.revokeExporter(p.dev);
      const group = sysfs.dirs.get(p.dev)?.children.get('p2pmem') as DirNode | undefined;
      const allocate = group?.children.get('allocate');
      if (allocate) vfs.remove(allocate);
      await Promise.all([...(openAllocations.get(p) ?? [])].filter((f) => f.alloc).map((f) => f.revoke()));
    },
    released: (p) => {
      const group = sysfs.dirs.get(p.dev)?.children.get('p2pmem');
      if (group) vfs.remove(group);
      openAllocations.delete(p);
    },
  };
  buildDevfs(table, klog);
  addSystemSysfs(table, spec.numa, Date.now());
  const namespaces = new NamespaceStore(join(stateDir, 'namespaces'));
  const nvmeCtx: NvmeDevContext = { p2pdma, io, store: namespaces, p2p: p2pCtx, mappings, profile: spec.profile, openAllocations, klog, namespaces: new Map(), mountedAt: Date.now() };
  const nvme = new NvmeView(table, vfs, sysfs, nvmeCtx, bars);
  // a config write that clears Memory Space or Bus Master of a controller stops its DMA
  sysfsCtx.configWritten = (dev) => {
    const ctrl = nvme.ctrlOf(dev);
    if (ctrl) commandRegisterChanged(nvmeCtx, ctrl);
  };
  for (const ctrl of [...drivers.nvme.ctrls.values()].sort((a, b) => a.instance - b.instance)) nvme.add(ctrl);
  drivers.events = {
    bound: (dev) => {
      sysfs.linkDriver(dev);
      const ctrl = drivers.nvme.ctrls.get(dev);
      if (ctrl) nvme.add(ctrl, true);
    },
    unbound: (dev, driver) => {
      nvme.removeFor(dev);
      sysfs.unlinkDriver(dev, driver);
    },
    removed: (dev) => sysfs.removed(dev),
    added: (dev) => sysfs.added(dev),
  };
  buildDebugfs(table, pci, p2pdma, barView, stats);
  buildDmabufDebugfs(table, dmabufs, pci, defaultFallback);
  addDmabufFiles(p2pCtx, dmabufs);
  // HMM: the hmm-allow-p2p profile turns the proposal's path on
  const hmm = hmmContext({ klog, pci, p2pdma, drivers }, spec.profile === 'hmm-allow-p2p');
  addDmirrorNodes(table, table.dirs(table.root, 'dev'), hmm, pci);
  return { spec, klog, pci, p2pdma, drivers, bars, barView, table, vfs, sysfs, openAllocations, stats, namespaces };
}
