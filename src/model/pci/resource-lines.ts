// pci_dev->resource[] as the sysfs resource file lists it: BARs 0–5, the
// ROM, the six VF BAR regions (CONFIG_PCI_IOV) and, for bridges, the four
// windows. A recorded function gives its lines; otherwise they follow from
// the BARs and windows the model placed, with the flags the kernel composes.

import type { PciDev, PciResource, ResourceLine } from './pci-dev.js';
import * as R from './regs.js';

/** resource slots printed for an endpoint (6 BARs, ROM, 6 IOV BARs) and for a bridge (+4 windows) with CONFIG_PCI_IOV=y */
export const RESOURCE_LINES_ENDPOINT = 13;
export const RESOURCE_LINES_BRIDGE = 17;

// kernel: decode_bar() keeps the BAR's low bits; __pci_read_base() adds IORESOURCE_SIZEALIGN
function barFlags(bar: PciResource): number {
  let flags = R.IORESOURCE_MEM | R.IORESOURCE_SIZEALIGN;
  if (bar.is64) flags |= R.IORESOURCE_MEM_64 | R.PCI_BASE_ADDRESS_MEM_TYPE_64;
  if (bar.prefetch) flags |= R.IORESOURCE_PREFETCH | R.PCI_BASE_ADDRESS_MEM_PREFETCH;
  return flags;
}

/** Every non-empty line of the resource file, by index. */
export function resourceLines(dev: PciDev): ResourceLine[] {
  if (dev.resources) return dev.resources;
  const out: ResourceLine[] = dev.bars.map((b) => ({ index: b.index, start: b.start, size: b.size, flags: barFlags(b) }));
  for (const b of dev.iovBars) out.push({ index: R.PCI_IOV_RESOURCES + b.index, start: b.start, size: b.size, flags: barFlags(b) });
  if (dev.isBridge && dev.memWindow) out.push({ index: R.PCI_BRIDGE_RESOURCES + 1, ...dev.memWindow, flags: R.IORESOURCE_MEM });
  // pci_read_bridge_mmio_pref(): range type bits (1 = 64-bit) | MEM | PREFETCH | MEM_64
  if (dev.isBridge && dev.prefWindow) {
    out.push({ index: R.PCI_BRIDGE_RESOURCES + 2, ...dev.prefWindow, flags: 0x1 | R.IORESOURCE_MEM | R.IORESOURCE_PREFETCH | R.IORESOURCE_MEM_64 });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Lines 7–12: the VF BAR regions of a PF. */
export function iovResourceLines(dev: PciDev): ResourceLine[] {
  return resourceLines(dev).filter((l) => l.index >= R.PCI_IOV_RESOURCES && l.index < R.PCI_BRIDGE_RESOURCES);
}

/** The BARs a recorded function's resource lines describe: memory BARs with a size (I/O BARs have no backing memory here). */
export function barsFromLines(lines: ResourceLine[]): PciResource[] {
  return lines
    .filter((l) => l.index < R.PCI_ROM_RESOURCE && l.flags & R.IORESOURCE_MEM && l.size > 0)
    .map((l) => ({
      index: l.index,
      start: l.start,
      size: l.size,
      is64: (l.flags & R.IORESOURCE_MEM_64) !== 0,
      prefetch: (l.flags & R.IORESOURCE_PREFETCH) !== 0,
    }));
}
