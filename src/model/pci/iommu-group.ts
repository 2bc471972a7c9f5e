// IOMMU groups, simplified from pci_device_group(): a function shares the
// group of the topmost root/downstream port on its path that does not isolate
// it with ACS (SV, RR, CR and UF all enabled); functions of one slot without
// ACS share a group. See native-notes/sysfs-tree.md.

import { PCI_ACS_CR, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_UF } from './regs.js';
import type { PciDev } from './pci-dev.js';
import type { PciHost } from './pci-host.js';

const ISOLATING = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

function isolates(port: PciDev): boolean {
  if (port.role !== 'root_port' && port.role !== 'switch_downstream') return true;
  return port.acsCtrl !== undefined && (port.acsCtrl & ISOLATING) === ISOLATING;
}

function anchorOf(dev: PciDev): PciDev {
  let anchor = dev;
  if (dev.fn !== 0 && (dev.acsCtrl ?? 0) === 0) {
    const siblings = dev.upstream ? dev.upstream.children : dev.hostBridge.rootBusDevices;
    anchor = siblings.find((s) => s.slot === dev.slot && s.fn === 0) ?? dev;
  }
  for (let p = dev.upstream; p; p = p.upstream) if (!isolates(p)) anchor = p;
  return anchor;
}

export function assignIommuGroups(host: PciHost): void {
  const groups = new Map<PciDev, number>();
  for (const dev of host.devices) {
    const anchor = anchorOf(dev);
    if (!groups.has(anchor)) groups.set(anchor, groups.size);
    dev.iommuGroup = groups.get(anchor);
  }
}
