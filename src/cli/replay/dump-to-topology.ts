// An lspci dump as a topology: the tree from the bridges' bus numbers (each
// bus hangs below the bridge whose secondary bus it is; buses nobody claims
// are root buses), VFs under the PF whose SR-IOV capability places them,
// everything else from the bytes. What the bytes cannot say — BAR sizes, the
// resource flags the kernel would compose — is filled in here and counted,
// so the caller can print one line about the defaults it used.

import { functionNamer, type ReplayFunction, type ReplayHostBridge, type ReplayResource, type ReplayVf } from '../../config/index.js';
import {
  bridgeBuses,
  cfgByte,
  cfgDword,
  cfgWord,
  findExtCapability,
  headerType,
  IORESOURCE_IO,
  IORESOURCE_MEM,
  IORESOURCE_MEM_64,
  IORESOURCE_PREFETCH,
  IORESOURCE_READONLY,
  IORESOURCE_SIZEALIGN,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_BAR,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_NUM_VF,
  PCI_SRIOV_TOTAL_VF,
  PCI_SRIOV_VF_OFFSET,
  PCI_SRIOV_VF_STRIDE,
  virtfnBus,
  virtfnDevfn,
} from '../../model/index.js';
import type { DumpFunction } from './lspci-dump.js';

/** A BAR whose size the dump does not give: this much, or less when its address is aligned less. */
export const DEFAULT_MEM_BAR_SIZE = 2 ** 20;
export const DEFAULT_IO_BAR_SIZE = 256;
export const DEFAULT_ROM_SIZE = 64 * 1024;

export interface ImportResult {
  hostBridges: ReplayHostBridge[];
  /** BARs (and ROMs, VF BARs) whose size was assumed */
  assumedSizes: number;
}

/** The largest power of two dividing addr (an address is aligned to its BAR's size), capped. */
function guessSize(addr: number, cap: number): number {
  if (addr === 0) return cap;
  let a = 1;
  while (a < cap && (addr / a) % 2 === 0) a *= 2;
  return a;
}

function barFlags(low: number, is64: boolean): number {
  if (low & 1) return IORESOURCE_IO | IORESOURCE_SIZEALIGN | 1;
  let flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN | (low & 0xf);
  if (is64) flags |= IORESOURCE_MEM_64;
  if (low & 8) flags |= IORESOURCE_PREFETCH;
  return flags;
}

/** A resource whose size was guessed, and how many equal parts it holds (TotalVFs for a VF BAR region). */
interface Guess {
  res: ReplayResource;
  parts: number;
}

/** Halve each guessed size until it ends before the next resource of the function starts (BARs of one function do not overlap). */
function fitGuesses(out: ReplayResource[], guesses: Guess[]): void {
  const io = (r: ReplayResource) => (r.flags & IORESOURCE_IO) !== 0;
  for (const g of guesses) {
    const next = Math.min(...out.filter((r) => r !== g.res && io(r) === io(g.res) && r.start > g.res.start).map((r) => r.start));
    let per = g.res.size / g.parts;
    while (per > 1 && g.res.start + per * g.parts > next) per /= 2;
    g.res.size = per * g.parts;
  }
}

class Builder {
  assumed = 0;
  private guesses: Guess[] = [];

  // kernel: (pciutils) pci_generic_fill_info(), lib/generic.c: the BARs as the bytes give them
  private bars(f: DumpFunction, cfg: Buffer, count: number, out: ReplayResource[]): void {
    for (let i = 0; i < count; i++) {
      const low = cfgDword(cfg, 0x10 + i * 4);
      if (low === 0 || low === 0xffffffff) continue;
      const io = (low & 1) === 1;
      const is64 = !io && (low & 6) === 4 && i + 1 < count;
      const high = is64 ? cfgDword(cfg, 0x14 + i * 4) : 0;
      const start = io ? (low & ~3) >>> 0 : ((low & ~0xf) >>> 0) + high * 2 ** 32;
      const known = f.regionSizes.get(i);
      const res = { index: i, start, size: known ?? guessSize(start, io ? DEFAULT_IO_BAR_SIZE : DEFAULT_MEM_BAR_SIZE), flags: barFlags(low, is64) };
      if (known === undefined) this.guess(res, 1);
      out.push(res);
      if (is64) i++;
    }
  }

  private rom(f: DumpFunction, cfg: Buffer, reg: number, out: ReplayResource[]): void {
    const v = cfgDword(cfg, reg);
    if (v === 0 || v === 0xffffffff) return;
    const start = (v & ~0x7ff) >>> 0;
    // IORESOURCE_ROM_ENABLE (bit 0) when the ROM is enabled
    const res = { index: 6, start, size: f.romSize ?? guessSize(start, DEFAULT_ROM_SIZE), flags: IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_READONLY | IORESOURCE_SIZEALIGN | (v & 1) };
    if (f.romSize === undefined) this.guess(res, 1);
    out.push(res);
  }

  // kernel: pci_read_bridge_io(), pci_read_bridge_mmio(), pci_read_bridge_mmio_pref(), drivers/pci/probe.c: a window exists when base ≤ limit
  private windows(cfg: Buffer, out: ReplayResource[]): void {
    const ioBase = cfgByte(cfg, 0x1c);
    const ioLimit = cfgByte(cfg, 0x1d);
    const io32 = (ioBase & 0xf) === 1;
    const ioLo = ((ioBase & 0xf0) << 8) + (io32 ? cfgWord(cfg, 0x30) * 65536 : 0);
    const ioHi = ((ioLimit & 0xf0) << 8) + (io32 ? cfgWord(cfg, 0x32) * 65536 : 0) + 0xfff;
    if (ioBase !== 0xff && ioLo <= ioHi) out.push({ index: 13, start: ioLo, size: ioHi - ioLo + 1, flags: IORESOURCE_IO });
    const memLo = (cfgWord(cfg, 0x20) & 0xfff0) * 65536;
    const memHi = (cfgWord(cfg, 0x22) & 0xfff0) * 65536 + 0xfffff;
    if (memLo <= memHi) out.push({ index: 14, start: memLo, size: memHi - memLo + 1, flags: IORESOURCE_MEM });
    const pBase = cfgWord(cfg, 0x24);
    const p64 = (pBase & 0xf) === 1;
    const pLo = (pBase & 0xfff0) * 65536 + (p64 ? cfgDword(cfg, 0x28) * 2 ** 32 : 0);
    const pHi = (cfgWord(cfg, 0x26) & 0xfff0) * 65536 + 0xfffff + (p64 ? cfgDword(cfg, 0x2c) * 2 ** 32 : 0);
    if (pLo <= pHi) out.push({ index: 15, start: pLo, size: pHi - pLo + 1, flags: (p64 ? 1 | IORESOURCE_MEM_64 : 0) | IORESOURCE_MEM | IORESOURCE_PREFETCH });
  }

  /** VF BAR regions (resource lines 7–12) from the SR-IOV capability: each VF BAR × TotalVFs. */
  private iovBars(cfg: Buffer, pos: number, out: ReplayResource[]): void {
    const total = cfgWord(cfg, pos + PCI_SRIOV_TOTAL_VF);
    for (let i = 0; i < 6; i++) {
      const low = cfgDword(cfg, pos + PCI_SRIOV_BAR + i * 4);
      if (low === 0 || low === 0xffffffff || low & 1) continue;
      const is64 = (low & 6) === 4 && i < 5;
      const start = ((low & ~0xf) >>> 0) + (is64 ? cfgDword(cfg, pos + PCI_SRIOV_BAR + (i + 1) * 4) * 2 ** 32 : 0);
      const res = { index: 7 + i, start, size: guessSize(start, DEFAULT_MEM_BAR_SIZE) * total, flags: barFlags(low, is64) };
      this.guess(res, total);
      out.push(res);
      if (is64) i++;
    }
  }

  private guess(res: ReplayResource, parts: number): void {
    this.assumed++;
    this.guesses.push({ res, parts: Math.max(parts, 1) });
  }

  resources(f: DumpFunction): ReplayResource[] {
    const cfg = f.config;
    const out: ReplayResource[] = [];
    this.guesses = [];
    const type = headerType(cfg);
    if (cfg.length < 0x40) return out;
    if (type === 0) {
      this.bars(f, cfg, 6, out);
      this.rom(f, cfg, 0x30, out);
      const sriov = findExtCapability(cfg, PCI_EXT_CAP_ID_SRIOV);
      if (sriov) this.iovBars(cfg, sriov, out);
    } else if (type === 1) {
      this.bars(f, cfg, 2, out);
      this.rom(f, cfg, 0x38, out);
      this.windows(cfg, out);
    }
    fitGuesses(out, this.guesses);
    return out.sort((a, b) => a.index - b.index);
  }
}

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const key = (domain: number, bus: number) => `${domain}:${bus}`;
const bdf = (f: DumpFunction) => `${hex(f.domain, 4)}:${hex(f.bus, 2)}:${hex(f.dev, 2)}.${f.fn}`;

/** The VFs of each PF with VF Enable set (NumVFs of them), found at the addresses its offset and stride give; missing ones undefined. */
function matchVfs(all: DumpFunction[]): Map<DumpFunction, (DumpFunction | undefined)[]> {
  const at = new Map(all.map((f) => [`${key(f.domain, f.bus)}:${f.dev * 8 + f.fn}`, f]));
  const out = new Map<DumpFunction, (DumpFunction | undefined)[]>();
  for (const pf of all) {
    const pos = findExtCapability(pf.config, PCI_EXT_CAP_ID_SRIOV);
    if (!pos || !(cfgWord(pf.config, pos + PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE)) continue;
    const [n, offset, stride] = [PCI_SRIOV_NUM_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE].map((r) => cfgWord(pf.config, pos + r)) as [number, number, number];
    const devfn = pf.dev * 8 + pf.fn;
    const vfs: (DumpFunction | undefined)[] = [];
    for (let i = 0; i < n; i++) vfs.push(at.get(`${key(pf.domain, virtfnBus(pf.bus, devfn, offset, stride, i))}:${virtfnDevfn(devfn, offset, stride, i)}`));
    out.set(pf, vfs);
  }
  return out;
}

export function dumpToTopology(all: DumpFunction[]): ImportResult {
  const b = new Builder();
  const name = functionNamer();
  const vfsOf = matchVfs(all);
  const isVf = new Set([...vfsOf.values()].flat().filter((v): v is DumpFunction => v !== undefined));
  const sorted = [...all].sort((x, y) => x.domain - y.domain || x.bus - y.bus || x.dev * 8 + x.fn - (y.dev * 8 + y.fn));
  // each bus below the bridge whose secondary it is
  const bridgeFor = new Map<string, ReplayFunction>();
  const made = new Map<DumpFunction, ReplayFunction>();
  for (const f of sorted) {
    if (isVf.has(f)) continue;
    const classCode = cfgDword(f.config, 8) >>> 8;
    const vfs = vfsOf.get(f);
    const rf: ReplayFunction = {
      dev: f.dev,
      fn: f.fn,
      comment: `${bdf(f)} ${f.description}`.slice(0, 110),
      name: name(classCode),
      config: f.config,
      resource: b.resources(f),
      irq: f.config.length > 0x3c ? cfgByte(f.config, 0x3c) : 0,
      numaNode: f.numaNode ?? -1,
      driver: f.driver ?? null,
      iommuGroup: f.iommuGroup,
      physicalSlot: f.physicalSlot,
      sriov: vfs && {
        numVfs: vfs.length,
        vfDriver: vfs.find((v) => v?.driver)?.driver ?? null,
        autoprobe: true,
        vfs: vfs.map((v): ReplayVf => (v ? { config: v.config, driver: v.driver ?? null, irq: cfgByte(v.config, 0x3c), numaNode: v.numaNode ?? -1, iommuGroup: v.iommuGroup } : { config: undefined, driver: undefined })),
      },
      children: [],
    };
    made.set(f, rf);
    const buses = bridgeBuses(f.config);
    if (buses && buses.secondary > f.bus) bridgeFor.set(key(f.domain, buses.secondary), rf);
  }
  const roots = new Map<string, ReplayHostBridge>();
  for (const f of sorted) {
    const rf = made.get(f);
    if (!rf) continue;
    const parent = bridgeFor.get(key(f.domain, f.bus));
    if (parent && parent !== rf) {
      parent.children.push(rf);
      continue;
    }
    let hb = roots.get(key(f.domain, f.bus));
    if (!hb) {
      hb = { domain: f.domain, bus: f.bus, children: [] };
      roots.set(key(f.domain, f.bus), hb);
    }
    hb.children.push(rf);
  }
  return { hostBridges: [...roots.values()], assumedSizes: b.assumed };
}
