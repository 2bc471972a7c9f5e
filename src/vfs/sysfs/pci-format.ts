// Text of the standard PCI attributes, in the kernel's exact formats
// (drivers/pci/pci-sysfs.c, kernel-facts §1.5).

import type { CpuRange } from '../../config/spec.js';
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

// CPU sets are ranges (validated below NR_CPUS by the topology parser): a mask
// is built word by word, never from one entry or one digit per possible CPU.

// kernel: bitmap_print_to_pagebuf() with "%*pb": 32-bit groups, comma separated, width nr_cpu_ids
export function cpumaskText(ranges: CpuRange[], nrCpuIds: number): string {
  const words = Math.max(1, Math.ceil(nrCpuIds / 32));
  const groups: string[] = [];
  for (let w = words - 1; w >= 0; w--) {
    const lo = w * 32;
    let bits = 0;
    for (const [a, b] of ranges) for (let c = Math.max(a, lo); c <= Math.min(b, lo + 31); c++) bits |= 1 << (c - lo);
    const width = w === words - 1 ? Math.ceil((nrCpuIds - lo) / 4) : 8;
    groups.push((bits >>> 0).toString(16).padStart(width, '0'));
  }
  return groups.join(',') + '\n';
}

// kernel: bitmap_print_list_to_buf() ("%*pbl")
export function cpulistText(ranges: CpuRange[]): string {
  return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',') + '\n';
}

/** The union of disjoint CPU range lists, ascending, touching ranges merged. */
export function mergeCpuRanges(lists: CpuRange[][]): CpuRange[] {
  const out: CpuRange[] = [];
  for (const [a, b] of lists.flat().sort((x, y) => x[0] - y[0])) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export { hex };
