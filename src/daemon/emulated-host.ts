// Everything one mount serves, built from a topology: the PCI model, the
// kernel log, BAR backing files and the synthetic tree over them.

import type { TopologySpec } from '../config/spec.js';
import { BarStore } from '../memory/bar-store.js';
import { KernelLog } from '../model/klog.js';
import { enumerate, type PciHost } from '../model/pci/index.js';
import { buildDevfs, buildPciSysfs, InodeTable, Vfs, type PciDirs } from '../vfs/index.js';

export interface EmulatedHost {
  spec: TopologySpec;
  klog: KernelLog;
  pci: PciHost;
  bars: BarStore;
  table: InodeTable;
  vfs: Vfs;
  pciDirs: PciDirs;
}

export function buildEmulatedHost(spec: TopologySpec, barDir: string): EmulatedHost {
  const klog = new KernelLog();
  const pci = enumerate(spec, klog);
  const bars = new BarStore(barDir);
  const table = new InodeTable();
  const pciDirs = buildPciSysfs({ table, host: pci, klog, bars });
  buildDevfs(table, klog);
  table.dirs(table.root, 'sys/kernel/debug/p2pemu');
  return { spec, klog, pci, bars, table, vfs: new Vfs(table), pciDirs };
}
