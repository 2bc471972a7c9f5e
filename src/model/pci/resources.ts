// MMIO address assignment, depth first like a firmware/kernel resource pass:
// every BAR naturally aligned, non-prefetchable BARs below 4 GiB (a bridge's
// non-prefetchable window is 32-bit), 64-bit prefetchable BARs above, and each
// bridge window the 1 MiB-rounded span of what sits below it.

import type { SpecPos } from '../../config/index.js';
import { formatSize } from '../../config/index.js';
import { topologyErrorAt } from '../../config/index.js';
import type { PciDev, PciResource } from './pci-dev.js';
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
  /** first address past each aperture */
  end32: number;
  end64: number;
}

/** A BAR is aligned to its size; a VF BAR region to the size of one VF's BAR. */
function alignmentOf(dev: PciDev, bar: PciResource): number {
  if (!dev.iovBars.includes(bar)) return bar.size;
  return bar.size / (dev.endpoint?.sriov?.cap?.totalVfs ?? 1);
}

function placeBars(dev: PciDev, cur: Cursors): void {
  // Largest first, so alignment gaps stay small.
  for (const bar of [...dev.bars, ...dev.iovBars].sort((a, b) => b.size - a.size)) {
    const high = bar.is64 && bar.prefetch;
    const at = alignUp(high ? cur.mem64 : cur.mem32, alignmentOf(dev, bar));
    // the BAR that does not fit is the one to name (its size key in the file)
    if (at + bar.size > (high ? cur.end64 : cur.end32)) {
      const pos = dev.endpoint?.bars.find((b) => b.index === bar.index)?.at ?? dev.endpoint?.at;
      const problem = high
        ? `BAR ${bar.index} (${formatSize(bar.size)}) does not fit: the 64-bit BARs of host bridge ${dev.hostBridge.name} need more than 4 TiB`
        : `BAR ${bar.index} (${formatSize(bar.size)}) does not fit: the 32-bit BARs of host bridge ${dev.hostBridge.name} need more than ${MEM32_SPAN / MIB} MiB`;
      if (pos) throw topologyErrorAt(pos, problem);
      throw new Error(problem);
    }
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
    // a function given by its bytes keeps the addresses it was recorded with
    if (!dev.raw) placeBars(dev, cur);
    const all = [...dev.bars, ...dev.iovBars];
    return { low: all.filter((b) => !(b.is64 && b.prefetch)), high: all.filter((b) => b.is64 && b.prefetch) };
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
  // a recorded bridge's windows are in its bytes; what the model places below it is placed anyway
  if (dev.raw) return { low, high };
  dev.memWindow = span(low);
  dev.prefWindow = span(high);
  cur.mem32 = alignUp(cur.mem32, MIB);
  cur.mem64 = alignUp(cur.mem64, MIB);
  return { low: dev.memWindow ? [dev.memWindow] : [], high: dev.prefWindow ? [dev.prefWindow] : [] };
}

/** `at`: the host bridge in the file, named when bridge-window rounding (not one BAR) overflows an aperture. */
export function assignResources(hb: PciHostBridge, at: SpecPos): void {
  const mem32 = MEM32_BASE + hb.index * MEM32_SPAN;
  const mem64 = MEM64_SPAN * (hb.index + 1);
  const cur: Cursors = { mem32, mem64, end32: mem32 + MEM32_SPAN, end64: mem64 + MEM64_SPAN };
  hb.mem32 = { start: mem32, end: cur.end32 - 1 };
  hb.mem64 = { start: mem64, end: cur.end64 - 1 };
  for (const dev of hb.rootBusDevices) assign(dev, cur);
  if (cur.mem32 > cur.end32) throw topologyErrorAt(at, `the 32-bit BARs and bridge windows of host bridge ${hb.name} need more than ${MEM32_SPAN / MIB} MiB`);
  if (cur.mem64 > cur.end64) throw topologyErrorAt(at, `the 64-bit BARs and bridge windows of host bridge ${hb.name} need more than 4 TiB`);
}
