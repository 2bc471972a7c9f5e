// The PCI part of sysfs: /sys/devices/pciDDDD:BB/… nested like a real kernel,
// /sys/bus/pci/devices links, /sys/bus/pci/drivers, /sys/kernel/iommu_groups.

import type { CpuRange } from '../../config/index.js';
import { kernelError } from '../../errno.js';
import type { KernelLog } from '../../model/index.js';
import { bridgeBuses, currentLink, irqShow, maxLink, pciMmapFits, pciSpeedString, writeConfig, type PciDev, type PciHost } from '../../model/index.js';
import type { BarStore } from '../../memory/index.js';
import { isPrivileged } from '../caller.js';
import type { DirNode, VNode } from '../node.js';
import type { Vfs } from '../vfs.js';
import type { DriverCore } from '../../model/index.js';
import { pathOf, relativeTarget, type InodeTable } from '../tree.js';
import { sliceAt } from '../command-file.js';
import { cpulistText, cpumaskText, mergeCpuRanges, modaliasText, resourceText } from './pci-format.js';
import { addDeviceExtras, syncMsiIrqs } from './pci-device-extras.js';
import { addBusFiles, addDriverFiles } from './pci-bus-files.js';
import { addStoreAttrs } from './pci-store.js';
import { addSriovFiles, linkVirtfn, unlinkVirtfn } from './sriov-files.js';

export interface PciSysfsContext {
  table: InodeTable;
  host: PciHost;
  klog: KernelLog;
  bars: BarStore;
  /** bind/unbind/remove files appear when a driver core is given */
  drivers?: DriverCore;
  /** after a config write was kept (the command register may have changed) */
  configWritten?: (dev: PciDev) => void;
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`;
/** config bytes an unprivileged reader gets (pci_read_config) */
const UNPRIVILEGED_CONFIG_BYTES = 64;

/** The /sys/devices directory of each function, filled by the PciSysfs constructor and kept in step with the model. */
export type PciDirs = Map<PciDev, DirNode>;

function numaCpus(ctx: PciSysfsContext, node: number): { cpus: CpuRange[]; nr: number } {
  const all = mergeCpuRanges(ctx.host.spec.numa.map((n) => n.ranges));
  const nr = all[all.length - 1]![1] + 1;
  const entry = ctx.host.spec.numa.find((n) => n.node === node);
  // An unknown node means "all online CPUs", as cpumask_of_pcibus gives for NUMA_NO_NODE.
  return { cpus: entry ? entry.ranges : all, nr };
}

function addDeviceAttrs(ctx: PciSysfsContext, dir: DirNode, dev: PciDev): void {
  const t = ctx.table;
  const ro = (name: string, show: () => string) => t.text(dir, name, 0o444, show);
  ro('vendor', () => `${hex(dev.ids.vendor, 4)}\n`);
  ro('device', () => `${hex(dev.ids.device, 4)}\n`);
  ro('subsystem_vendor', () => `${hex(dev.ids.subsystemVendor, 4)}\n`);
  ro('subsystem_device', () => `${hex(dev.ids.subsystemDevice, 4)}\n`);
  ro('revision', () => `${hex(dev.ids.revision, 2)}\n`);
  ro('class', () => `${hex(dev.ids.classCode, 6)}\n`);
  ro('irq', () => `${irqShow(dev)}\n`);
  ro('modalias', () => modaliasText(dev));
  ro('resource', () => resourceText(dev));
  ro('local_cpus', () => {
    const { cpus, nr } = numaCpus(ctx, dev.numaNode);
    return cpumaskText(cpus, nr);
  });
  ro('local_cpulist', () => cpulistText(numaCpus(ctx, dev.numaNode).cpus));
  ro('dma_mask_bits', () => `${dev.driver && !dev.isBridge ? 64 : 32}\n`);
  ro('consistent_dma_mask_bits', () => `${dev.driver && !dev.isBridge ? 64 : 32}\n`);
  ro('ari_enabled', () => '0\n');
  ro('power_state', () => 'D0\n');
  addStoreAttrs(ctx, dir, dev);
  // kernel: current_link_speed_show(), max_link_speed_show() and the widths, drivers/pci/pci-sysfs.c: read from config space
  if (dev.isPcie) {
    ro('current_link_speed', () => `${pciSpeedString(currentLink(dev.config)?.speed)}\n`);
    ro('max_link_speed', () => `${pciSpeedString(maxLink(dev.config)?.speed)}\n`);
    ro('current_link_width', () => `${currentLink(dev.config)?.width ?? 0}\n`);
    ro('max_link_width', () => `${maxLink(dev.config)?.width ?? 0}\n`);
  }
  // kernel: secondary_bus_number_show(), subordinate_bus_number_show(): the bridge's registers
  if (dev.isBridge) {
    ro('secondary_bus_number', () => `${bridgeBuses(dev.config)?.secondary ?? 0}\n`);
    ro('subordinate_bus_number', () => `${bridgeBuses(dev.config)?.subordinate ?? 0}\n`);
  }
  t.bin(dir, {
    name: 'config',
    mode: 0o644,
    size: dev.cfgSize,
    read: (offset, size, caller) => {
      const limit = isPrivileged(caller) ? dev.cfgSize : UNPRIVILEGED_CONFIG_BYTES;
      return Buffer.from(sliceAt(dev.config, offset, size, limit));
    },
    write: (offset, data, caller) => {
      if (!isPrivileged(caller)) throw kernelError('EPERM', 'config writes need CAP_SYS_ADMIN');
      const n = writeConfig(dev, offset, data);
      ctx.configWritten?.(dev);
      return n;
    },
  });
  for (const bar of dev.bars) {
    const name = `resource${bar.index}`;
    const file = t.bin(dir, {
      name,
      mode: 0o600,
      size: bar.size,
      backing: () => {
        const b = ctx.bars.get(dev.bdf, bar.index, bar.size);
        return { id: b.id, fd: b.fd, offset: 0, size: bar.size, writable: true, pastEndEfbig: true };
      },
      // kernel: pci_mmap_resource(), drivers/pci/pci-sysfs.c
      mmap: (i) => {
        if (!pciMmapFits(bar.size, i.pgoff, i.len / 4096)) throw kernelError('EINVAL', `${name}: mapping of ${i.len} bytes at page ${i.pgoff} does not fit the BAR`);
      },
    });
    // kernel: pci_create_resource_files(), drivers/pci/pci-sysfs.c: a write-combining twin for prefetchable BARs
    // differs: one node under both names, so that both share one page cache (the kernel maps one BAR twice)
    if (bar.prefetch) t.alias(dir, `${name}_wc`, file);
  }
}

/**
 * The PCI part of the tree, kept in step with the model: driver links follow
 * bind/unbind, device directories go away on removal.
 */
export class PciSysfs {
  readonly dirs: PciDirs = new Map();
  private readonly busPci: DirNode;
  private readonly busDevices: DirNode;
  private readonly drivers: DirNode;
  private readonly iommuGroups: DirNode | undefined;

  constructor(
    private readonly ctx: PciSysfsContext,
    private readonly vfs?: Vfs,
  ) {
    const t = ctx.table;
    const sys = t.dirs(t.root, 'sys');
    this.devicesDir = t.dirs(sys, 'devices');
    this.busPci = t.dirs(sys, 'bus/pci');
    this.busDevices = t.dirs(this.busPci, 'devices');
    this.drivers = t.dirs(this.busPci, 'drivers');
    this.iommuGroups = ctx.host.spec.iommu ? t.dirs(sys, 'kernel/iommu_groups') : undefined;
    const core = ctx.drivers;
    if (core) {
      addBusFiles(t, this.busPci, ctx.host, core, () => core.rescan());
      // every driver is registered at boot, bound to something or not
      for (const name of core.drivers()) this.driverDir(name);
    }

    const place = (dev: PciDev, parent: DirNode) => {
      this.placeOne(dev, parent);
      for (const child of dev.children) place(child, this.dirs.get(dev)!);
    };
    for (const hb of ctx.host.hostBridges) {
      const hbDir = t.dir(this.devicesDir, hb.dirName);
      for (const dev of hb.rootBusDevices) place(dev, hbDir);
    }
    for (const dev of ctx.host.sorted()) this.linkDevice(dev);
  }

  private readonly devicesDir: DirNode;
  private readonly mountedAt = Date.now();

  private placeOne(dev: PciDev, parent: DirNode): void {
    const dir = this.ctx.table.dir(parent, dev.bdf);
    this.dirs.set(dev, dir);
    addDeviceAttrs(this.ctx, dir, dev);
    const core = this.ctx.drivers;
    if (core) {
      addDeviceExtras(
        {
          table: this.ctx.table,
          drivers: core,
          vfs: this.vfs,
          mountedAt: this.mountedAt,
          remove: (d) => core.remove(d),
          rescan: () => core.rescan(),
        },
        dir,
        dev,
      );
      if (dev.sriov) addSriovFiles(this.ctx.table, dir, dev, core);
    }
  }

  /** The bus link, subsystem, driver and IOMMU group links of a placed function. */
  private linkDevice(dev: PciDev): void {
    const t = this.ctx.table;
    const dir = this.dirs.get(dev)!;
    t.symlink(this.busDevices, dev.bdf, relativeTarget(pathOf(this.busDevices), pathOf(dir)));
    t.symlink(dir, 'subsystem', relativeTarget(pathOf(dir), pathOf(this.busPci)));
    if (dev.physfn) {
      const pfDir = this.dirs.get(dev.physfn);
      if (pfDir) linkVirtfn(t, this.vfs, pfDir, dir, dev);
    }
    if (dev.driver) this.linkDriver(dev);
    if (this.iommuGroups && dev.iommuGroup !== undefined) this.linkIommuGroup(dev, this.iommuGroups);
  }

  /** A function found again by a rescan, or a new VF: its directory under its parent's, and its links. */
  added(dev: PciDev): void {
    const parent = dev.upstream ? this.dirs.get(dev.upstream) : (this.devicesDir.children.get(dev.hostBridge.dirName) as DirNode | undefined);
    if (!parent || this.dirs.has(dev)) return;
    this.placeOne(dev, parent);
    this.linkDevice(dev);
    this.vfs?.added(parent, dev.bdf);
    this.vfs?.added(this.busDevices, dev.bdf);
  }

  /** sys/bus/pci/drivers/<name>, with its bind and unbind files. */
  private driverDir(name: string): DirNode {
    const existing = this.drivers.children.get(name) as DirNode | undefined;
    if (existing) return existing;
    const t = this.ctx.table;
    const drv = t.dir(this.drivers, name);
    if (this.ctx.drivers) addDriverFiles(t, drv, name, this.ctx.host, this.ctx.drivers);
    this.vfs?.added(this.drivers, name);
    return drv;
  }

  linkDriver(dev: PciDev): void {
    const t = this.ctx.table;
    const dir = this.dirs.get(dev)!;
    const drv = this.driverDir(dev.driver!);
    t.symlink(drv, dev.bdf, relativeTarget(pathOf(drv), pathOf(dir)));
    t.symlink(dir, 'driver', relativeTarget(pathOf(dir), pathOf(drv)));
    this.vfs?.added(drv, dev.bdf);
    this.vfs?.added(dir, 'driver');
    syncMsiIrqs({ table: t, vfs: this.vfs }, dir, dev);
  }

  unlinkDriver(dev: PciDev, driver: string): void {
    const dir = this.dirs.get(dev)!;
    const drv = this.drivers.children.get(driver) as DirNode | undefined;
    const back = drv?.children.get(dev.bdf);
    if (back) this.remove(back);
    const link = dir.children.get('driver');
    if (link) this.remove(link);
    syncMsiIrqs({ table: this.ctx.table, vfs: this.vfs }, dir, dev);
  }

  private linkIommuGroup(dev: PciDev, groups: DirNode): void {
    const t = this.ctx.table;
    const dir = this.dirs.get(dev)!;
    const name = String(dev.iommuGroup);
    let g = groups.children.get(name) as DirNode | undefined;
    if (!g) {
      g = t.dir(groups, name);
      t.dir(g, 'devices');
      t.text(g, 'type', 0o644, () => 'DMA\n');
    }
    const gDevices = g.children.get('devices') as DirNode;
    t.symlink(gDevices, dev.bdf, relativeTarget(pathOf(gDevices), pathOf(dir)));
    t.symlink(dir, 'iommu_group', relativeTarget(pathOf(dir), pathOf(g)));
  }

  private remove(node: VNode): void {
    if (this.vfs) this.vfs.remove(node);
    else this.ctx.table.unlink(node);
  }

  /** After the model removed a function: its directory and every link to it go. */
  removed(dev: PciDev): void {
    const dir = this.dirs.get(dev);
    if (!dir) return;
    if (dev.physfn) unlinkVirtfn(this.dirs.get(dev.physfn), dev, (n) => this.remove(n));
    const link = this.busDevices.children.get(dev.bdf);
    if (link) this.remove(link);
    if (this.iommuGroups && dev.iommuGroup !== undefined) {
      const g = this.iommuGroups.children.get(String(dev.iommuGroup)) as DirNode | undefined;
      const back = (g?.children.get('devices') as DirNode | undefined)?.children.get(dev.bdf);
      if (back) this.remove(back);
    }
    if (dir.parent) this.remove(dir);
    this.dirs.delete(dev);
  }
}
