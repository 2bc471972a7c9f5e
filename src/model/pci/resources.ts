// MMIO address assignment, depth first like a firmware/kernel resource pass:
// every BAR naturally aligned, non-prefetchable BARs below 4 GiB (a bridge's
// non-prefetchable window is 32-bit), 64-bit prefetchable BARs above, and each
// bridge window the 1 MiB-rounded span of what sits below it.

import type { PciDev } from './pci-dev.js';
import type { PciHostBridge } from './host-bridge.js';

const MIB = 2 ** 20;
/** 32-bit aperture of host bridge i: 256 MiB each from 2 GiB */
const MEM32_BASE = 0x8000_0000;
const MEM32_SPAN = 0x1000_0000;
/** 64-bit aperture of host bridge i: 4 TiB each from 4 TiB */
const MEM64_SPAN = 2 ** 42;

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;
const alignDown = (v: number, a: number) => Math.floor(v / a) * a;

interface Cursors {
  mem32: number;
  mem64: number;
}

function placeBars(dev: PciDev, cur: Cursors): void {
  // Largest first, so alignment gaps stay small.
  for (const bar of [...dev.bars].sort((a, b) => b.size - a.size)) {
    const high = bar.is64 && bar.prefetch;
    const at = alignUp(high ? cur.mem64 : cur.mem32, bar.size);
    bar.start = at;
    if (high) cur.mem64 = at + bar.size;
    else cur.mem32 = at + bar.size;
  }
}

function span(ranges: { start: number; size: number }[]): { start: number; size: number } | undefined {
  if (ranges.length === 0) return undefined;
  const start = alignDown(Math.min(...ranges.map((r) => r.start)), MIB);
  const end = alignUp(Math.max(...ranges.map((r) => r.start + r.size)), MIB);
  return { start, size: end - start };
}

function assign(dev: PciDev, cur: Cursors): { low: { start: number; size: number }[]; high: { start: number; size: number }[] } {
  if (!dev.isBridge) {
    placeBars(dev, cur);
    return {
      low: dev.bars.filter((b) => !(b.is64 && b.prefetch)),
      high: dev.bars.filter((b) => b.is64 && b.prefetch),
    };
  }
  cur.mem32 = alignUp(cur.mem32, MIB);
  cur.mem64 = alignUp(cur.mem64, MIB);
  const low: { start: number; size: number }[] = [];
  const high: { start: number; size: number }[] = [];
  for (const child of dev.children) {
    const got = assign(child, cur);
    low.push(...got.low);
    high.push(...got.high);
  }
  dev.memWindow = span(low);
  dev.prefWindow = span(high);
  cur.mem32 = alignUp(cur.mem32, MIB);
  cur.mem64 = alignUp(cur.mem64, MIB);
  return { low: dev.memWindow ? [dev.memWindow] : [], high: dev.prefWindow ? [dev.prefWindow] : [] };
}

export function assignResources(hb: PciHostBridge): void {
  const cur: Cursors = { mem32: MEM32_BASE + hb.index * MEM32_SPAN, mem64: MEM64_SPAN * (hb.index + 1) };
  hb.mem32 = { start: cur.mem32, end: cur.mem32 + MEM32_SPAN - 1 };
  hb.mem64 = { start: cur.mem64, end: cur.mem64 + MEM64_SPAN - 1 };
  for (const dev of hb.rootBusDevices) assign(dev, cur);
  if (cur.mem32 > hb.mem32.end + 1) throw new Error(`host bridge ${hb.name}: 32-bit BARs need more than ${MEM32_SPAN / MIB} MiB`);
  if (cur.mem64 > hb.mem64.end + 1) throw new Error(`host bridge ${hb.name}: 64-bit BARs need more than 4 TiB`);
}
