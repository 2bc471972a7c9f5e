// What a booting kernel prints while it enumerates this hierarchy
// (pci_scan_root_bus, pci_setup_device, __pci_read_base, pci_scan_bridge).

import { KERN_INFO, type KernelLog } from '../klog.js';
import { headerType, pcieType } from './config-read.js';
import type { PciDev } from './pci-dev.js';
import type { PciHost } from './pci-host.js';

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const hex16 = (n: number) => `0x${n.toString(16)}`;

const PCIE_TYPE_NAMES = [
  'PCIe Endpoint',
  'PCIe Legacy Endpoint',
  'PCIe unknown',
  'PCIe unknown',
  'PCIe Root Port',
  'PCIe Switch Upstream Port',
  'PCIe Switch Downstream Port',
  'PCIe to PCI/PCI-X bridge',
  'PCI/PCI-X to PCIe bridge',
  'PCIe Root Complex Integrated Endpoint',
  'PCIe Root Complex Event Collector',
];

// kernel: pci_type_str(), drivers/pci/probe.c
function portType(dev: PciDev): string {
  const type = pcieType(dev.config);
  if (type !== undefined) return PCIE_TYPE_NAMES[type] ?? 'PCIe unknown';
  switch (headerType(dev.config)) {
    case 0:
      return 'conventional PCI endpoint';
    case 1:
      return 'conventional PCI bridge';
    case 2:
      return 'CardBus bridge';
    default:
      return 'conventional PCI';
  }
}

export function logEnumeration(host: PciHost, klog: KernelLog): void {
  const info = (text: string) => klog.log(KERN_INFO, text);
  for (const hb of host.hostBridges) {
    const bus = `${hb.domain.toString(16).padStart(4, '0')}:${hb.bus.toString(16).padStart(2, '0')}`;
    info(`PCI host bridge to bus ${bus}`);
    info(`pci_bus ${bus}: root bus resource [bus ${hb.bus.toString(16).padStart(2, '0')}-${hb.busnEnd.toString(16).padStart(2, '0')}]`);
    info(`pci_bus ${bus}: root bus resource [mem ${hex(hb.mem32.start)}-${hex(hb.mem32.end)} window]`);
    info(`pci_bus ${bus}: root bus resource [mem ${hex16(hb.mem64.start)}-${hex16(hb.mem64.end)} window]`);
  }
  for (const dev of host.sorted()) {
    const id = `${dev.ids.vendor.toString(16).padStart(4, '0')}:${dev.ids.device.toString(16).padStart(4, '0')}`;
    const type = headerType(dev.config).toString(16).padStart(2, '0');
    info(`pci ${dev.bdf}: [${id}] type ${type} class ${`0x${dev.ids.classCode.toString(16).padStart(6, '0')}`} ${portType(dev)}`);
    for (const bar of dev.bars) {
      const attrs = [bar.is64 ? '64bit' : '', bar.prefetch ? 'pref' : ''].filter(Boolean).join(' ');
      info(`pci ${dev.bdf}: BAR ${bar.index} [mem ${hex16(bar.start)}-${hex16(bar.start + bar.size - 1)}${attrs ? ` ${attrs}` : ''}]`);
    }
    if (dev.busRange) {
      const [s, e] = dev.busRange;
      info(`pci ${dev.bdf}: PCI bridge to [bus ${s.toString(16).padStart(2, '0')}-${e.toString(16).padStart(2, '0')}]`);
    }
    if (dev.iommuGroup !== undefined) info(`pci ${dev.bdf}: Adding to iommu group ${dev.iommuGroup}`);
  }
}
