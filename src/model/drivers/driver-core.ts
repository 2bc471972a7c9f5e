// Driver binding as the driver core does it (drivers/base/dd.c): bind runs the
// driver's probe, unbind runs its devm actions in reverse (for a P2P provider:
// pci_p2pdma_unmap_mappings, memunmap_pages, pci_p2pdma_release), and removal
// (pci_stop_and_remove_bus_device) unbinds and deletes a device and all below it.

import { kernelError } from '../../errno.js';
import type { KernelLog } from '../klog.js';
import type { P2pdmaSubsystem } from '../p2pdma/index.js';
import type { PciDev, PciHost } from '../pci/index.js';
import { probeDevice } from './probe.js';
import { NvmeDriver } from '../nvme/nvme-driver.js';
import { disableVectors, enableVectors, IrqAllocator, restoreVectors, sriovDisable, syncMsiEnable } from '../pci/index.js';
import { DynamicIds, idMatches, parseNewId } from './dynamic-ids.js';
import { enableRecordedVfs, pfDriverRemoved, sriovHooks, sriovNumvfsStore, type VfLifecycle } from './sriov-control.js';

export interface DriverCoreEvents {
  bound?(dev: PciDev): void;
  unbound?(dev: PciDev, driver: string): void;
  removed?(dev: PciDev): void;
  /** a function found again by a rescan, before any driver binds */
  added?(dev: PciDev): void;
}

export class DriverCore {
  events: DriverCoreEvents = {};

  readonly nvme: NvmeDriver;
  readonly dynIds = new DynamicIds();
  readonly irqs = new IrqAllocator();
  /** /sys/bus/pci/drivers_autoprobe: new devices are bound to a matching driver */
  autoprobe = true;
  /** the tail of each device's queue of bind/unbind/remove operations */
  private readonly locks = new Map<PciDev, Promise<void>>();
  /** the tail of the queue of removals and rescans */
  private rescanRemove: Promise<unknown> = Promise.resolve();

  constructor(
    readonly host: PciHost,
    readonly p2pdma: P2pdmaSubsystem,
    readonly klog: KernelLog,
  ) {
    this.nvme = new NvmeDriver(p2pdma, klog);
  }

  /** Boot: every bound device is probed in bus order, then the VFs a recording had enabled come back. */
  probeAll(): void {
    for (const dev of this.host.sorted()) if (dev.driver) this.probe(dev, true);
    enableRecordedVfs(this.vfLifecycle());
  }

  /** At boot a recorded function keeps the vectors (and the enable bits in its bytes) it was recorded with. */
  private probe(dev: PciDev, boot = false): void {
    // the NVMe model drives the controllers it built; a recorded function bound to nvme is a generic function
    if (dev.driver === 'nvme' && dev.role === 'nvme') this.nvme.probe(dev);
    else probeDevice(dev, this.p2pdma, this.klog);
    if (boot && dev.raw) {
      restoreVectors(dev, this.irqs);
      return;
    }
    enableVectors(dev, this.irqs);
    syncMsiEnable(dev);
  }

  /** The driver whose static ID table holds this function: the one its topology names (pcieport for the ports the model builds). */
  staticDriver(dev: PciDev): string | undefined {
    return dev.endpoint ? dev.endpoint.driver : dev.isBridge ? 'pcieport' : undefined;
  }

  /** How VFs join, bind and leave (sriov-control.ts). */
  vfLifecycle(): VfLifecycle {
    return {
      host: this.host,
      klog: this.klog,
      bindVf: (vf) => {
        // kernel: pci_bus_add_device(): a VF is probed only if its PF allows it (sriov_drivers_autoprobe)
        if (this.autoprobe && vf.physfn?.sriov?.driversAutoprobe) this.attach(vf);
      },
      // the caller holds the rescan/remove lock (sriov_numvfs_store, a PF's removal): the unlocked variant
      remove: (dev) => this.removeTree(dev),
      added: (dev) => this.events.added?.(dev),
      nextIommuGroup: () => {
        if (!this.host.spec.iommu) return undefined;
        return Math.max(-1, ...this.host.devices.map((d) => d.iommuGroup ?? -1)) + 1;
      },
    };
  }

  /** A write of sriov_numvfs: under the PF's device lock and the rescan/remove lock, as VFs come and go. */
  sriovNumvfs(pf: PciDev, n: number): Promise<void> {
    return this.rescanRemoveLocked(() => this.deviceLocked(pf, () => sriovNumvfsStore(this.vfLifecycle(), pf, n)));
  }

  /** Every driver the bus knows (registered at boot: those the topology names). */
  drivers(): string[] {
    const names = new Set<string>();
    for (const d of this.host.devices) {
      const s = this.staticDriver(d);
      if (s) names.add(s);
    }
    return [...names].sort();
  }

  // kernel: pci_match_device(), drivers/pci/pci-driver.c
  /** driver_override names the only driver allowed (with or without an ID match); else dynamic IDs, then the static table. */
  matches(dev: PciDev, driver: string): boolean {
    if (dev.driverOverride !== undefined) return dev.driverOverride === driver;
    return this.dynIds.matches(driver, dev) || this.staticDriver(dev) === driver;
  }

  // kernel: device_attach(), drivers/base/dd.c: the first matching driver binds
  async attach(dev: PciDev): Promise<void> {
    if (dev.driver) return;
    const driver = this.drivers().find((d) => this.matches(dev, d));
    if (driver) await this.bind(dev, driver);
  }

  // kernel: new_id_store(), drivers/pci/pci-driver.c: the new ID binds unbound devices at once (driver_attach)
  async newId(driver: string, text: string): Promise<void> {
    const id = parseNewId(text);
    const probeDev = this.host.devices.find((d) => this.staticDriver(d) === driver && idMatches(id, d));
    if (probeDev) throw kernelError('EEXIST', `${driver} already handles ${text.trim()}`);
    this.dynIds.add(driver, id);
    // driver_attach() ignores what one device's probe says
    for (const d of this.host.sorted()) if (!d.driver && this.matches(d, driver)) await this.bind(d, driver).catch(() => undefined);
  }

  removeId(driver: string, text: string): void {
    this.dynIds.remove(driver, parseNewId(text));
  }

  /** Has the device left the bus (a removal finished while a caller waited for it)? */
  private gone(dev: PciDev): boolean {
    return this.host.byPciName(dev.bdf) !== dev;
  }

  // kernel: device_lock(), include/linux/device.h
  /** Binding, unbinding and removing one device happen one after another, never interleaved. */
  private async deviceLocked<T>(dev: PciDev, fn: () => T | Promise<T>): Promise<T> {
    const before = this.locks.get(dev) ?? Promise.resolve();
    let unlock!: () => void;
    const held = before.then(() => new Promise<void>((res) => (unlock = res)));
    this.locks.set(dev, held);
    await before;
    try {
      return await fn();
    } finally {
      unlock();
      if (this.locks.get(dev) === held) this.locks.delete(dev);
    }
  }

  // kernel: bind_store() → device_driver_attach(), drivers/base/bus.c, dd.c
  bind(dev: PciDev, driver: string): Promise<void> {
    return this.deviceLocked(dev, () => {
      if (this.gone(dev) || !this.matches(dev, driver)) throw kernelError('ENODEV', `${driver} does not handle ${dev.bdf}`);
      if (dev.driver) throw kernelError('EBUSY', `${dev.bdf} is already bound to ${dev.driver}`);
      dev.driver = driver;
      dev.enableCount = 1;
      this.probe(dev);
      this.events.bound?.(dev);
    });
  }

  // kernel: unbind_store() → device_driver_detach(), drivers/base/bus.c, dd.c
  /** Resolves once the driver's teardown is complete (it waits for outstanding P2P page references). */
  unbind(dev: PciDev, driver?: string): Promise<void> {
    return this.deviceLocked(dev, () => this.releaseDriver(dev, driver));
  }

  // kernel: device_release_driver(), drivers/base/dd.c
  private async releaseDriver(dev: PciDev, driver?: string): Promise<void> {
    if (this.gone(dev) || !dev.driver || (driver !== undefined && dev.driver !== driver)) {
      throw kernelError('ENODEV', `${dev.bdf} is not bound to ${driver ?? 'a driver'}`);
    }
    const was = dev.driver;
    if (was === 'nvme' && dev.role === 'nvme') this.nvme.remove(dev);
    await this.p2pdma.teardown(dev);
    disableVectors(dev, this.irqs);
    syncMsiEnable(dev);
    dev.driver = undefined;
    dev.enableCount = 0;
    pfDriverRemoved(dev, this.klog);
    this.events.unbound?.(dev, was);
  }

  // kernel: pci_lock_rescan_remove(), drivers/pci/probe.c
  /** Removals and rescans run one at a time. */
  private rescanRemoveLocked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.rescanRemove.then(fn);
    this.rescanRemove = run.catch(() => undefined);
    return run;
  }

  // kernel: pci_stop_and_remove_bus_device_locked(), drivers/pci/remove.c
  /** A device already gone is left alone. */
  remove(dev: PciDev): Promise<void> {
    return this.rescanRemoveLocked(() => this.removeTree(dev));
  }

  private async removeTree(dev: PciDev): Promise<void> {
    // a PF's VFs go first, as its driver's remove disables SR-IOV
    if (dev.sriov?.numVFs && !this.gone(dev)) await sriovDisable(dev, sriovHooks(this.vfLifecycle()));
    for (const child of [...dev.children].reverse()) await this.removeTree(child);
    await this.deviceLocked(dev, async () => {
      if (this.gone(dev)) return;
      if (dev.driver) await this.releaseDriver(dev);
      this.host.remove(dev);
      this.events.removed?.(dev);
    });
  }

  // kernel: pci_rescan_bus(), drivers/pci/probe.c: removed functions that are still there are found again
  /** Re-adds removed functions (parents first) and, with autoprobe on, binds their drivers. */
  rescan(): Promise<PciDev[]> {
    return this.rescanRemoveLocked(async () => {
      const found = this.host.restoreRemoved();
      for (const dev of found) this.events.added?.(dev);
      // a probe that fails leaves the device unbound; the rescan goes on
      if (this.autoprobe) for (const dev of found) await this.attach(dev).catch(() => undefined);
      return found;
    });
  }
}
