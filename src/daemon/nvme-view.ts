// Keeps /dev/nvme* and the NVMe sysfs in step with the controllers the model
// has bound; writes each controller's registers into its BAR0 backing.

import { pwriteSync } from '../memory/fd-io.js';
import type { BarStore } from '../memory/bar-store.js';
import type { NvmeCtrl } from '../model/nvme/index.js';
import type { PciDev } from '../model/pci/index.js';
import { addNvmeDevNodes, type NvmeDevContext } from '../vfs/devfs/nvme-dev.js';
import { addNvmeSysfs } from '../vfs/sysfs/nvme-sysfs.js';
import type { DirNode, InodeTable, PciSysfs, Vfs } from '../vfs/index.js';

export class NvmeView {
  private blockMinor = 0;
  private readonly added = new Map<PciDev, { ctrl: NvmeCtrl; names: string[] }>();

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
    addNvmeDevNodes(this.ctx, dev, ctrl);
    const pciDir = this.sysfs.dirs.get(ctrl.dev);
    if (pciDir) addNvmeSysfs(this.table, pciDir, ctrl, () => this.blockMinor++);
    const names = [ctrl.name, ...ctrl.namespaces.map((n) => n.name)];
    this.added.set(ctrl.dev, { ctrl, names });
    if (live) for (const n of names) this.vfs.added(dev, n);
  }

  removeFor(pci: PciDev): void {
    const entry = this.added.get(pci);
    if (!entry) return;
    this.added.delete(pci);
    const root = this.table.root;
    const child = (dir: DirNode | undefined, name: string) => dir?.children.get(name);
    const sys = child(root, 'sys') as DirNode | undefined;
    const dev = child(root, 'dev') as DirNode | undefined;
    for (const name of entry.names) {
      for (const dir of [dev, child(sys, 'block'), child(child(sys, 'class') as DirNode, 'block')]) {
        const n = child(dir as DirNode | undefined, name);
        if (n) this.vfs.remove(n);
      }
    }
    const cls = child(child(sys, 'class') as DirNode, 'nvme') as DirNode | undefined;
    const link = child(cls, entry.ctrl.name);
    if (link) this.vfs.remove(link);
    const nvmeDir = child(this.sysfs.dirs.get(pci), 'nvme');
    if (nvmeDir) this.vfs.remove(nvmeDir);
  }
}
