// What writes to a device's control attributes do in the kernel, as model
// operations: enable/disable, NUMA override, config writes.

import { kernelError } from '../../errno.js';
import { KERN_ALERT, type KernelLog } from '../klog.js';
import { acsCapOffset } from './config-space.js';
import type { PciDev } from './pci-dev.js';
import { PCI_ACS_CTRL, PCI_COMMAND, PCI_BRIDGE_CONTROL, PCI_INTERRUPT_LINE } from './regs.js';

/** "nvme 0000:03:00.0: " when a driver is bound, "pci 0000:03:00.0: " otherwise (dev_printk). */
export function devPrefix(dev: PciDev): string {
  return `${dev.driver ?? 'pci'} ${dev.bdf}: `;
}

// kernel: enable_store(), drivers/pci/pci-sysfs.c [618]
export function enableStore(dev: PciDev, enable: boolean): void {
  if (dev.driver) throw kernelError('EBUSY', `${dev.bdf} is bound to ${dev.driver}`);
  if (enable) dev.enableCount++;
  else if (dev.enableCount > 0) dev.enableCount--;
  else throw kernelError('EIO', `${dev.bdf} is not enabled`);
}

// kernel: numa_node_store(), drivers/pci/pci-sysfs.c [618]
export function numaNodeStore(dev: PciDev, node: number, onlineNodes: number[], klog: KernelLog): void {
  if (node !== -1 && !onlineNodes.includes(node)) throw kernelError('EINVAL', `NUMA node ${node} is not online`);
  klog.log(KERN_ALERT, `${devPrefix(dev)}[Firmware Bug]: Overriding NUMA node to ${node}.  Contact your vendor for updates.`);
  klog.taint('FIRMWARE_WORKAROUND');
  dev.numaNode = node;
}

/** Byte ranges of config space that accept writes; everything else reads back unchanged. */
function writableRanges(dev: PciDev): [number, number][] {
  const ranges: [number, number][] = [[PCI_COMMAND, 2], [PCI_INTERRUPT_LINE, 1]];
  if (dev.isBridge) ranges.push([PCI_BRIDGE_CONTROL, 2]);
  const acs = acsCapOffset(dev);
  if (acs !== undefined) ranges.push([acs + PCI_ACS_CTRL, 2]);
  return ranges;
}

// kernel: pci_write_config(), drivers/pci/pci-sysfs.c [618]
/** A config write: kept where hardware would keep it; the ACS Control register updates dev.acsCtrl. */
export function writeConfig(dev: PciDev, offset: number, data: Buffer): number {
  const end = Math.min(offset + data.length, dev.cfgSize);
  for (const [start, len] of writableRanges(dev)) {
    for (let i = Math.max(start, offset); i < Math.min(start + len, end); i++) dev.config[i] = data[i - offset]!;
  }
  const acs = acsCapOffset(dev);
  if (acs !== undefined) dev.acsCtrl = dev.config.readUInt16LE(acs + PCI_ACS_CTRL);
  return end - offset;
}
