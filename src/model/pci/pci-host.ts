// The whole emulated PCI host: host bridges, every function, lookups, and the
// upstream walk the P2PDMA distance code uses.

import type { TopologySpec } from '../../config/index.js';
import { buildConfigSpace, setConfig } from './config-space.js';
import type { PciHostBridge } from './host-bridge.js';
import type { PciDev } from './pci-dev.js';

export class PciHost {
  private readonly byBdf = new Map<string, PciDev>();
  private readonly byName = new Map<string, PciDev>();
  /** removed functions, in removal order: the hardware is still there for a rescan */
  private readonly removed: PciDev[] = [];

  constructor(
    readonly spec: TopologySpec,
    readonly hostBridges: PciHostBridge[],
    /** in enumeration order */
    readonly devices: PciDev[],
  ) {
    for (const d of devices) {
      this.byBdf.set(d.bdf, d);
      this.byName.set(d.name, d);
    }
  }

  /** Forgets a removed function (pci_destroy_dev). A VF is gone for good: a rescan never finds VFs. */
  remove(dev: PciDev): void {
    const siblings = siblingsOf(dev);
    const i = siblings.indexOf(dev);
    if (i >= 0) siblings.splice(i, 1);
    const j = this.devices.indexOf(dev);
    if (j >= 0) this.devices.splice(j, 1);
    this.byBdf.delete(dev.bdf);
    if (this.byName.get(dev.name) === dev) this.byName.delete(dev.name);
    if (!dev.isVirtfn) this.removed.push(dev);
  }

  // kernel: pci_device_add(), drivers/pci/probe.c: a new function (a VF) joins its bus
  add(dev: PciDev): void {
    const siblings = siblingsOf(dev);
    siblings.push(dev);
    siblings.sort((a, b) => a.bus - b.bus || a.devfn - b.devfn);
    this.devices.push(dev);
    this.byBdf.set(dev.bdf, dev);
    if (!this.byName.has(dev.name)) this.byName.set(dev.name, dev);
  }

  /** Puts removed functions back (parents before children) with fresh kernel state; returns them in bus order. */
  restoreRemoved(): PciDev[] {
    const back = this.removed.splice(0).reverse();
    for (const dev of back) {
      this.add(dev);
      // a new struct pci_dev: no driver, not enabled, no override, config as the hardware resets it
      dev.driverOverride = undefined;
      dev.enableCount = 0;
      dev.d3coldAllowed = dev.hasPm;
      // (a function given by its bytes keeps them: the model cannot know its reset values)
      if (!dev.raw) setConfig(dev, buildConfigSpace(dev, isMultifunction(dev)));
    }
    return this.sorted().filter((d) => back.includes(d));
  }

  /** Devices sorted as for_each_pci_dev walks them: by domain, bus, devfn. */
  sorted(): PciDev[] {
    return [...this.devices].sort((a, b) => a.domain - b.domain || a.bus - b.bus || a.devfn - b.devfn);
  }

  /** The function whose pci_name() is exactly `name`, as bus_find_device_by_name() matches. */
  byPciName(name: string): PciDev | undefined {
    return this.byBdf.get(name);
  }

  /** By BDF ("0000:03:00.0", or "03:00.0" in domain 0) or by topology name ("nvme0"). */
  find(id: string): PciDev | undefined {
    return this.byName.get(id) ?? this.byBdf.get(id) ?? this.byBdf.get(`0000:${id}`);
  }
}

/** The list a function sits in: the bridge above's children, or its host bridge's root bus (a VF sits beside its PF). */
export function siblingsOf(dev: PciDev): PciDev[] {
  return dev.upstream ? dev.upstream.children : dev.hostBridge.rootBusDevices;
}

/** Another function shares the device number (header bit 7 of a generated config); VFs do not count. */
export function isMultifunction(dev: PciDev): boolean {
  return siblingsOf(dev).some((s) => s !== dev && !s.isVirtfn && s.bus === dev.bus && s.slot === dev.slot);
}

// kernel: pci_upstream_bridge(), include/linux/pci.h: a VF is looked up through its PF (pci_physfn)
/** The bridge that owns dev's bus (its PF's bus for a VF), or undefined on a root bus. */
export function pciUpstreamBridge(dev: PciDev): PciDev | undefined {
  return (dev.physfn ?? dev).upstream;
}
