// Text of the standard PCI attributes, in the kernel's exact formats
// (drivers/pci/pci-sysfs.c, kernel-facts §1.5).

import type { CpuRange } from '../../config/index.js';
import type { PciDev } from '../../model/index.js';
import { RESOURCE_LINES_BRIDGE, RESOURCE_LINES_ENDPOINT, resourceLines } from '../../model/index.js';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const HEX = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/** start, end, flags; a resource of unknown size (size 0) prints end = start, which lspci reads as no size */
function resourceLine(start: number, size: number, flags: number): string {
  const end = size > 0 ? start + size - 1 : start;
  return `0x${hex(start, 16)} 0x${hex(end, 16)} 0x${hex(flags, 16)}\n`;
}

// kernel: resource_show(), drivers/pci/pci-sysfs.c [618]
export function resourceText(dev: PciDev): string {
  const count = dev.isBridge ? RESOURCE_LINES_BRIDGE : RESOURCE_LINES_ENDPOINT;
  const byIndex = new Map(resourceLines(dev).map((l) => [l.index, l]));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const l = byIndex.get(i);
    out.push(l ? resourceLine(l.start, l.size, l.flags) : resourceLine(0, 0, 0));
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
