// Everything one mount serves, built from a topology: the PCI model, the
// P2PDMA subsystem with its providers probed, the kernel log, BAR backing
// files and the synthetic tree over them, wired so that model events (bind,
// unbind, removal) show in the tree.

import type { TopologySpec } from '../config/spec.js';
import { BarStore } from '../memory/bar-store.js';
import { BarView } from '../memory/bar-view.js';
import type { DriverCore } from '../model/drivers/index.js';
import { bootHostModel } from '../model/host-model.js';
import type { KernelLog } from '../model/klog.js';
import type { P2pdmaProvider, P2pdmaSubsystem } from '../model/p2pdma/index.js';
import type { PciHost } from '../model/pci/index.js';
import {
  addP2pmemGroup,
  buildDebugfs,
  buildDevfs,
  InodeTable,
  PciSysfs,
  Vfs,
  type DirNode,
  type OpenAllocations,
  type P2pmemContext,
} from '../vfs/index.js';

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
  /** filled in once mounted: the mount's device as /proc/PID/maps prints it */
  mount: { dev?: string };
}

export function buildEmulatedHost(spec: TopologySpec, barDir: string): EmulatedHost {
  const { klog, pci, p2pdma, drivers } = bootHostModel(spec);
  const bars = new BarStore(barDir);
  const barView = new BarView(bars);
  const table = new InodeTable();
  const vfs = new Vfs(table);
  const sysfs = new PciSysfs({ table, host: pci, klog, bars, drivers }, vfs);
  const mount: { dev?: string } = {};
  const openAllocations: OpenAllocations = new Map();
  const p2pCtx: P2pmemContext = { table, vfs, p2pdma, bars, barView, mountDev: () => mount.dev };

  const addGroup = (p: P2pdmaProvider) => {
    const dir = sysfs.dirs.get(p.dev);
    if (!dir || dir.children.has('p2pmem')) return;
    addP2pmemGroup(p2pCtx, dir, p, openAllocations);
    vfs.added(dir, 'p2pmem');
  };
  for (const p of p2pdma.allProviders()) addGroup(p);
  p2pdma.events = {
    poolCreated: addGroup,
    // kernel: pci_p2pdma_unmap_mappings(): the file goes, mappings are zapped
    unmapMappings: async (p) => {
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
  drivers.events = {
    bound: (dev) => sysfs.linkDriver(dev),
    unbound: (dev, driver) => sysfs.unlinkDriver(dev, driver),
    removed: (dev) => sysfs.removed(dev),
  };
  buildDevfs(table, klog);
  buildDebugfs(table, pci, p2pdma, barView);
  return { spec, klog, pci, p2pdma, drivers, bars, barView, table, vfs, sysfs, openAllocations, mount };
}
