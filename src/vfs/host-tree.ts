// The whole tree of one emulated host, built from the live model and the
// memory behind it, and kept in step with it: model events (a pool created, a
// driver bound or unbound, a function removed or found again, a dma-buf
// exported) become nodes added or removed, with the kernel's caches told.

import type { TopologySpec } from '../config/index.js';
import type { BarStore } from '../memory/index.js';
import type { BarView } from '../memory/index.js';
import type { NamespaceImages } from '../memory/index.js';
import { defaultFallback, type DmaBufCore } from '../model/index.js';
import type { HmmContext } from '../model/index.js';
import type { HostModel } from '../model/index.js';
import type { NvmeIoPath } from '../model/index.js';
import type { P2pdmaProvider } from '../model/index.js';
import { buildDebugfs } from './debugfs/p2pemu-files.js';
import { buildDmabufDebugfs } from './debugfs/dmabuf.js';
import { addDmabufFiles } from './debugfs/dma-buf-files.js';
import { addDmirrorNodes } from './devfs/hmm-dmirror.js';
import { buildDevfs } from './devfs/kmsg.js';
import { commandRegisterChanged, type NvmeDevContext } from './devfs/nvme-dev.js';
import { DirectBuffers } from './devfs/direct-buffer.js';
import type { DirNode } from './node.js';
import { NvmeView } from './nvme-view.js';
import { DirectShare } from './direct-share.js';
import { P2pMappings } from './p2p-mappings.js';
import { addP2pmemGroup, type OpenAllocations, type P2pmemContext } from './sysfs/p2pmem-group.js';
import { PciSysfs, type PciSysfsContext } from './sysfs/pci-tree.js';
import { addSystemSysfs } from './sysfs/system-sysfs.js';
import { InodeTable } from './tree.js';
import { Vfs } from './vfs.js';

/** The model and the memory the tree is built over. */
export interface HostTreeSources {
  spec: TopologySpec;
  model: HostModel;
  /** the NVMe I/O path (decisions and counters) */
  io: NvmeIoPath;
  dmabufs: DmaBufCore;
  hmm: HmmContext;
  bars: BarStore;
  barView: BarView;
  namespaces: NamespaceImages;
}

export interface HostTree {
  table: InodeTable;
  vfs: Vfs;
  sysfs: PciSysfs;
  openAllocations: OpenAllocations;
}

export function buildHostTree(src: HostTreeSources): HostTree {
  const { spec, io, dmabufs, hmm, bars, barView } = src;
  const { klog, pci, p2pdma, drivers } = src.model;
  const stats = io.stats;
  const table = new InodeTable();
  const mappings = new P2pMappings();
  let vfs: Vfs | undefined;
  const share = new DirectShare(mappings, io, () => vfs?.port.device);
  vfs = new Vfs(table, share.dataPath());
  const sysfsCtx: PciSysfsContext = { table, host: pci, klog, bars, drivers };
  const sysfs = new PciSysfs(sysfsCtx, vfs);
  const openAllocations: OpenAllocations = new Map();
  const p2pCtx: P2pmemContext = { table, vfs, p2pdma, bars, barView, mappings };

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
  const buffers = new DirectBuffers(mappings, () => vfs.port);
  const nvmeCtx: NvmeDevContext = { p2pdma, io, store: src.namespaces, p2p: p2pCtx, mappings, share, buffers, profile: spec.profile, openAllocations, klog, namespaces: new Map(), mountedAt: Date.now() };
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
  addDmirrorNodes(table, table.dirs(table.root, 'dev'), hmm, pci);
  return { table, vfs, sysfs, openAllocations };
}
