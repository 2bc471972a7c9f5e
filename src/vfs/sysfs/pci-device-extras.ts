// The device-directory files beyond the identity and resources: hot-plug
// controls (remove, rescan), driver_override, power/ (CONFIG_PM) and
// msi_irqs/ (CONFIG_PCI_MSI, present while a driver has vectors enabled).

import { kernelError } from '../../errno.js';
import type { DriverCore } from '../../model/index.js';
import type { PciDev } from '../../model/index.js';
import type { DirNode } from '../node.js';
import type { InodeTable } from '../tree.js';
import type { Vfs } from '../vfs.js';
import { cString, kstrtoulOrEinval, sysfsName } from './kstrto.js';

const PAGE_SIZE = 4096;

// kernel: driver_override_show(), drivers/pci/pci-sysfs.c: a NULL override prints as "(null)"
function driverOverrideText(dev: PciDev): string {
  return `${dev.driverOverride ?? '(null)'}\n`;
}

// kernel: driver_set_override(), drivers/base/driver.c: a page or more is EINVAL; the name ends at a NUL
// or the first newline; empty clears
function driverOverrideStore(dev: PciDev, text: string): void {
  if (text.length >= PAGE_SIZE - 1) throw kernelError('EINVAL', 'override longer than a page');
  const name = cString(text).split('\n')[0]!;
  dev.driverOverride = name.length > 0 ? name : undefined;
}

/** power/ of a device with runtime PM enabled but forbidden ("on"), as PCI devices start. */
export function addPowerDir(t: InodeTable, parent: DirNode, activeSince: number): void {
  const power = t.dir(parent, 'power');
  // kernel: control_store(), drivers/base/power/sysfs.c: "on" or "auto" as sysfs_streq() compares;
  // control_show() then shows what was allowed (runtime_status stays active: nothing suspends here)
  let control = 'on';
  t.text(power, 'control', 0o644, () => `${control}\n`, (text) => {
    const want = sysfsName(text);
    if (!['on', 'auto'].includes(want)) throw kernelError('EINVAL', 'control takes on or auto');
    control = want;
  });
  t.text(power, 'runtime_status', 0o444, () => 'active\n');
  t.text(power, 'runtime_active_time', 0o444, () => `${Date.now() - activeSince}\n`);
  t.text(power, 'runtime_suspended_time', 0o444, () => '0\n');
  // kernel: autosuspend_delay_ms_show(), drivers/base/power/sysfs.c: EIO unless the driver uses autosuspend
  t.text(power, 'autosuspend_delay_ms', 0o644, () => {
    throw kernelError('EIO', 'autosuspend is not used');
  }, () => {
    throw kernelError('EIO', 'autosuspend is not used');
  });
}

export interface DeviceExtrasContext {
  table: InodeTable;
  drivers: DriverCore;
  vfs?: Vfs;
  mountedAt: number;
  /** pci_stop_and_remove_bus_device through the driver core, then the tree */
  remove(dev: PciDev): Promise<void>;
  rescan(): Promise<unknown>;
}

export function addDeviceExtras(ctx: DeviceExtrasContext, dir: DirNode, dev: PciDev): void {
  const t = ctx.table;
  t.text(dir, 'driver_override', 0o644, () => driverOverrideText(dev), (text) => driverOverrideStore(dev, text));
  // kernel: remove_store(), dev_rescan_store(), drivers/pci/pci-sysfs.c (pci_dev_hp_attrs: remove 0220, rescan 0200)
  t.text(dir, 'remove', 0o220, undefined, async (text) => {
    if (kstrtoulOrEinval(text) !== 0) await ctx.remove(dev);
  });
  t.text(dir, 'rescan', 0o200, undefined, async (text) => {
    if (kstrtoulOrEinval(text) !== 0) await ctx.rescan();
  });
  addPowerDir(t, dir, ctx.mountedAt);
}

// kernel: msi_sysfs_populate_desc(), kernel/irq/msi.c: one file per vector, named by its IRQ, saying "msi" or "msix"
/** msi_irqs/ follows the vectors a driver enabled: it appears at probe and goes at unbind. */
export function syncMsiIrqs(ctx: { table: InodeTable; vfs?: Vfs }, dir: DirNode, dev: PciDev): void {
  const old = dir.children.get('msi_irqs');
  const irqs = dev.msi?.irqs ?? [];
  if (old) {
    if (ctx.vfs) ctx.vfs.remove(old);
    else ctx.table.unlink(old);
  }
  if (irqs.length === 0) return;
  const d = ctx.table.dir(dir, 'msi_irqs');
  for (const irq of irqs) ctx.table.text(d, String(irq), 0o444, () => `${dev.msi!.kind}\n`);
  ctx.vfs?.added(dir, 'msi_irqs');
}
