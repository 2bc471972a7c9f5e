// Text of the standard PCI attributes, in the kernel's exact formats
// (drivers/pci/pci-sysfs.c, kernel-facts §1.5).

import type { PciDev } from '../../model/pci/index.js';
import { IORESOURCE_MEM, IORESOURCE_MEM_64, IORESOURCE_PREFETCH, IORESOURCE_SIZEALIGN } from '../../model/pci/index.js';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const HEX = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/** resource slots printed for an endpoint (6 BARs, ROM, 6 IOV BARs) and for a bridge (+4 windows) with CONFIG_PCI_IOV=y */
export const RESOURCE_LINES_ENDPOINT = 13;
export const RESOURCE_LINES_BRIDGE = 17;
const PCI_BRIDGE_RESOURCES = 13;

function resourceLine(start: number, size: number, flags: number): string {
  if (size === 0) return `0x${hex(0, 16)} 0x${hex(0, 16)} 0x${hex(0, 16)}\n`;
  return `0x${hex(start, 16)} 0x${hex(start + size - 1, 16)} 0x${hex(flags, 16)}\n`;
}

// kernel: resource_show(), drivers/pci/pci-sysfs.c [618]
export function resourceText(dev: PciDev): string {
  const lines = dev.isBridge ? RESOURCE_LINES_BRIDGE : RESOURCE_LINES_ENDPOINT;
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const bar = dev.bars.find((b) => b.index === i);
    if (bar) {
      // decode_bar() keeps the BAR's low bits; __pci_read_base() adds SIZEALIGN
      let flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN;
      if (bar.is64) flags |= IORESOURCE_MEM_64 | 0x4;
      if (bar.prefetch) flags |= IORESOURCE_PREFETCH | 0x8;
      out.push(resourceLine(bar.start, bar.size, flags));
    } else if (dev.isBridge && i === PCI_BRIDGE_RESOURCES + 1 && dev.memWindow) {
      out.push(resourceLine(dev.memWindow.start, dev.memWindow.size, IORESOURCE_MEM));
    } else if (dev.isBridge && i === PCI_BRIDGE_RESOURCES + 2 && dev.prefWindow) {
      // pci_read_bridge_mmio_pref(): range type bits (1 = 64-bit) | MEM | PREFETCH | MEM_64
      out.push(resourceLine(dev.prefWindow.start, dev.prefWindow.size, 0x1 | IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64));
    } else {
      out.push(resourceLine(0, 0, 0));
    }
  }
  return out.join('');
}

// kernel: modalias_show(), drivers/pci/pci-sysfs.c [618]
export function modaliasText(dev: PciDev): string {
  const c = dev.ids.classCode;
  return (
    `pci:v${HEX(dev.ids.vendor, 8)}d${HEX(dev.ids.device, 8)}sv${HEX(dev.ids.subsystemVendor, 8)}` +
    `sd${HEX(dev.ids.subsystemDevice, 8)}bc${HEX(c >>> 16, 2)}sc${HEX((c >>> 8) & 0xff, 2)}i${HEX(c & 0xff, 2)}\n`
  );
}

export function ueventText(dev: PciDev): string {
  const lines = [
    ...(dev.driver ? [`DRIVER=${dev.driver}`] : []),
    `PCI_CLASS=${dev.ids.classCode.toString(16).toUpperCase()}`,
    `PCI_ID=${HEX(dev.ids.vendor, 4)}:${HEX(dev.ids.device, 4)}`,
    `PCI_SUBSYS_ID=${HEX(dev.ids.subsystemVendor, 4)}:${HEX(dev.ids.subsystemDevice, 4)}`,
    `PCI_SLOT_NAME=${dev.bdf}`,
    `MODALIAS=${modaliasText(dev).trimEnd()}`,
  ];
  return lines.join('\n') + '\n';
}

/** Expands a cpulist ("0-3,8") into CPU numbers. */
export function parseCpulist(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) cpus.push(c);
  }
  return cpus;
}

// kernel: bitmap_print_to_pagebuf() with "%*pb": 32-bit groups, comma separated, width nr_cpu_ids
export function cpumaskText(cpus: number[], nrCpuIds: number): string {
  const digits = Math.ceil(nrCpuIds / 4);
  let bits = 0n;
  for (const c of cpus) bits |= 1n << BigInt(c);
  const raw = bits.toString(16).padStart(digits, '0');
  const groups: string[] = [];
  for (let end = raw.length; end > 0; end -= 8) groups.unshift(raw.slice(Math.max(0, end - 8), end));
  return groups.join(',') + '\n';
}

export function cpulistText(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',') + '\n';
}

export { hex };
