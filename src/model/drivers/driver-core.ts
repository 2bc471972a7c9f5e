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

export interface DriverCoreEvents {
  bound?(dev: PciDev): void;
  unbound?(dev: PciDev, driver: string): void;
  removed?(dev: PciDev): void;
}

export class DriverCore {
  events: DriverCoreEvents = {};

  readonly nvme: NvmeDriver;

  constructor(
    readonly host: PciHost,
    readonly p2pdma: P2pdmaSubsystem,
    readonly klog: KernelLog,
  ) {
    this.nvme = new NvmeDriver(p2pdma, klog);
  }

  /** Boot: every bound device is probed in bus order. */
  probeAll(): void {
    for (const dev of this.host.sorted()) if (dev.driver) this.probe(dev);
  }

  private probe(dev: PciDev): void {
    if (dev.driver === 'nvme') this.nvme.probe(dev);
    else probeDevice(dev, this.p2pdma, this.klog);
  }

  /** The driver a device can bind to: the one its topology names (the driver's ID table match). */
  matches(dev: PciDev, driver: string): boolean {
    if (dev.isBridge) return driver === 'pcieport';
    return dev.endpoint?.driver === driver;
  }

  // kernel: bind_store() → device_driver_attach(), drivers/base/bus.c, dd.c
  bind(dev: PciDev, driver: string): void {
    if (!this.matches(dev, driver)) throw kernelError('ENODEV', `${driver} does not handle ${dev.bdf}`);
    if (dev.driver) throw kernelError('EBUSY', `${dev.bdf} is already bound to ${dev.driver}`);
    dev.driver = driver;
    dev.enableCount = 1;
    this.probe(dev);
    this.events.bound?.(dev);
  }

  // kernel: unbind_store() → device_release_driver(), drivers/base/bus.c, dd.c
  /** Resolves once the driver's teardown is complete (it waits for outstanding P2P page references). */
  async unbind(dev: PciDev, driver?: string): Promise<void> {
    if (!dev.driver || (driver !== undefined && dev.driver !== driver)) {
      throw kernelError('ENODEV', `${dev.bdf} is not bound to ${driver ?? 'a driver'}`);
    }
    const was = dev.driver;
    if (was === 'nvme') this.nvme.remove(dev);
    await this.p2pdma.teardown(dev);
    dev.driver = undefined;
    dev.enableCount = 0;
    this.events.unbound?.(dev, was);
  }

  // kernel: pci_stop_and_remove_bus_device(), drivers/pci/remove.c
  async remove(dev: PciDev): Promise<void> {
    for (const child of [...dev.children].reverse()) await this.remove(child);
    if (dev.driver) await this.unbind(dev);
    this.host.remove(dev);
    this.events.removed?.(dev);
  }
}
