// Keeps /dev/nvme* and the NVMe sysfs in step with the controllers the model
// has bound; writes each controller's registers into its BAR0 backing.

import { pwriteSync } from '../memory/index.js';
import type { BarStore } from '../memory/index.js';
import type { NvmeCtrl } from '../model/index.js';
import type { PciDev } from '../model/index.js';
import { addNvmeDevNodes, namespaceIo, type NvmeDevContext } from './devfs/nvme-dev.js';
import { addNvmeSysfs, type NvmeSysfsNodes } from './sysfs/nvme-sysfs.js';
import type { PciSysfs } from './sysfs/pci-tree.js';
import type { DirNode, VNode } from './node.js';
import type { InodeTable } from './tree.js';
import type { Vfs } from './vfs.js';

/** Lowest free number first, as the kernel's ida_alloc() hands out minors. */
class Ida {
  private readonly used = new Set<number>();

  alloc(): number {
    let n = 0;
    while (this.used.has(n)) n++;
    this.used.add(n);
    return n;
  }

  free(ns: number[]): void {
    for (const n of ns) this.used.delete(n);
  }
}

export class NvmeView {
  private readonly blockMinors = new Ida();
  private readonly genericMinors = new Ida();
  private diskseq = 0;
  private readonly mountedAt = Date.now();
  private readonly added = new Map<PciDev, { ctrl: NvmeCtrl; devNodes: VNode[]; sysfs: NvmeSysfsNodes | undefined }>();

  constructor(
    private readonly table: InodeTable,
    private readonly vfs: Vfs,
    private readonly sysfs: PciSysfs,
    private readonly ctx: NvmeDevContext,
    private readonly bars: BarStore,
  ) {}

  add(ctrl: NvmeCtrl, live = false): void {
    const bar0 = ctrl.dev.bars.find((b) => b.index === 0);
    if (bar0) pwriteSync(this.bars.get(ctrl.dev.bdf, 0, bar0.size).fd, ctrl.registers(), 0);
    const dev = this.table.dirs(this.table.root, 'dev');
    const devNodes = addNvmeDevNodes(this.ctx, dev, ctrl);
    const pciDir = this.sysfs.dirs.get(ctrl.dev);
    const sysfs = pciDir
      ? addNvmeSysfs(
          {
            table: this.table,
            blockMinor: () => this.blockMinors.alloc(),
            genericMinor: () => this.genericMinors.alloc(),
            diskseq: () => ++this.diskseq,
            io: (ns) => namespaceIo(this.ctx, ns),
            mountedAt: this.mountedAt,
          },
          pciDir,
          ctrl,
        )
      : undefined;
    this.added.set(ctrl.dev, { ctrl, devNodes, sysfs });
    if (live) {
      for (const n of [...devNodes, ...(sysfs?.nodes ?? [])]) if (n.parent) this.vfs.added(n.parent, n.name);
      if (pciDir) this.vfs.added(pciDir, 'nvme');
    }
  }

  /** The controller behind a PCI function, if nvme is bound to it. */
  ctrlOf(pci: PciDev): NvmeCtrl | undefined {
    return this.added.get(pci)?.ctrl;
  }

  removeFor(pci: PciDev): void {
    const entry = this.added.get(pci);
    if (!entry) return;
    this.added.delete(pci);
    for (const n of [...entry.devNodes, ...(entry.sysfs?.nodes ?? [])]) if (n.parent) this.vfs.remove(n);
    if (entry.sysfs) {
      this.blockMinors.free(entry.sysfs.minors.block);
      this.genericMinors.free(entry.sysfs.minors.generic);
    }
    const nvmeDir = this.sysfs.dirs.get(pci)?.children.get('nvme') as DirNode | undefined;
    if (nvmeDir) this.vfs.remove(nvmeDir);
  }
}
