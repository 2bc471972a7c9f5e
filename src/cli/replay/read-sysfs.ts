// What `p2pemu record` reads from a live /sys: every PCI function's config
// bytes, resource lines, IRQs, NUMA node, driver, IOMMU group, SR-IOV state
// and P2P memory, the tree from the sysfs device paths, physical slots. Only
// reads: every file is opened read-only and nothing is written, so the
// host's config space is never touched (BAR sizes come from `resource`).

import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { functionNamer, type ReplayFunction, type ReplayHostBridge, type ReplayResource, type ReplayVf } from '../../config/index.js';
import { idsFromConfig } from '../../model/index.js';

const BDF = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/;
const ROOT_BUS = /^pci([0-9a-f]{4,8}):([0-9a-f]{2})$/;

function text(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function int(path: string): number | undefined {
  const t = text(path);
  if (t === undefined) return undefined;
  const n = Number.parseInt(t.trim(), t.trim().startsWith('0x') ? 16 : 10);
  return Number.isNaN(n) ? undefined : n;
}

function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

// kernel: resource_show(), drivers/pci/pci-sysfs.c: "start end flags" per resource, in hex
export function parseResourceFile(t: string): ReplayResource[] {
  const out: ReplayResource[] = [];
  t.split('\n').forEach((line, index) => {
    const m = /^0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+)$/i.exec(line.trim());
    if (!m) return;
    const [start, end, flags] = [m[1]!, m[2]!, m[3]!].map((h) => Number.parseInt(h, 16)) as [number, number, number];
    if (start === 0 && end === 0 && flags === 0) return;
    out.push({ index, start, size: end >= start && end > 0 ? end - start + 1 : 0, flags });
  });
  return out;
}

function msiIrqs(dir: string): number[] | undefined {
  try {
    const irqs = readdirSync(join(dir, 'msi_irqs')).map(Number).filter((n) => Number.isInteger(n));
    return irqs.length ? irqs.sort((a, b) => a - b) : undefined;
  } catch {
    return undefined;
  }
}

/** A function's directory as the fields a topology keeps. `short`: config came back shorter than its file (not root). */
interface Read {
  bdf: string;
  domain: number;
  bus: number;
  dev: number;
  fn: number;
  path: string;
  parent: string;
  config: Buffer;
  f: ReplayFunction;
}

function readConfig(dir: string): Buffer {
  // read-only: the kernel returns what the caller may see (64 bytes without CAP_SYS_ADMIN)
  return readFileSync(join(dir, 'config'));
}

function describe(bdf: string, config: Buffer, driver: string | null): string {
  const ids = idsFromConfig(config);
  const h4 = (n: number) => n.toString(16).padStart(4, '0');
  return `${bdf} [${h4(ids.vendor)}:${h4(ids.device)}] class 0x${ids.classCode.toString(16).padStart(6, '0')}${driver ? ` ${driver}` : ''}`;
}

function readVf(dir: string): ReplayVf {
  return {
    config: readConfig(dir),
    driver: linkName(join(dir, 'driver')) ?? null,
    irq: int(join(dir, 'irq')),
    msiIrqs: msiIrqs(dir),
    numaNode: int(join(dir, 'numa_node')),
    iommuGroup: numberLink(join(dir, 'iommu_group')),
  };
}

function numberLink(path: string): number | undefined {
  const n = linkName(path);
  return n !== undefined && /^\d+$/.test(n) ? Number(n) : undefined;
}

/** A PF's SR-IOV state and its VFs (found through its virtfnN links). */
function readSriov(dir: string): ReplayFunction['sriov'] {
  if (!existsSync(join(dir, 'sriov_totalvfs'))) return undefined;
  const links = readdirSync(dir).filter((n) => /^virtfn\d+$/.test(n)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  const vfs = links.map((l) => readVf(realpathSync(join(dir, l))));
  return {
    numVfs: int(join(dir, 'sriov_numvfs')) ?? 0,
    vfDriver: vfs[0]?.driver ?? null,
    autoprobe: (int(join(dir, 'sriov_drivers_autoprobe')) ?? 1) !== 0,
    vfs,
  };
}

/** Which BAR holds a provider's P2P memory is not in sysfs: the largest memory BAR that can hold it. */
function p2pmemOf(dir: string, resource: ReplayResource[]): ReplayFunction['p2pmem'] {
  const size = int(join(dir, 'p2pmem/size'));
  if (size === undefined) return undefined;
  const bars = resource.filter((r) => r.index < 6 && r.flags & 0x200 && r.size >= size).sort((a, b) => b.size - a.size);
  if (!bars.length) return undefined;
  return { bar: bars[0]!.index, size, comment: 'the BAR is a guess: sysfs does not say which BAR holds the P2P memory' };
}

function readFunction(sys: string, bdf: string): Read {
  const link = join(sys, 'bus/pci/devices', bdf);
  const path = realpathSync(link);
  const m = BDF.exec(bdf)!;
  const config = readConfig(path);
  const driver = linkName(join(path, 'driver')) ?? null;
  const resource = parseResourceFile(text(join(path, 'resource')) ?? '');
  const f: ReplayFunction = {
    dev: Number.parseInt(m[3]!, 16),
    fn: Number(m[4]),
    comment: describe(bdf, config, driver),
    config,
    resource,
    irq: int(join(path, 'irq')),
    msiIrqs: msiIrqs(path),
    numaNode: int(join(path, 'numa_node')),
    driver,
    iommuGroup: numberLink(join(path, 'iommu_group')),
    p2pmem: p2pmemOf(path, resource),
    sriov: readSriov(path),
    children: [],
  };
  return { bdf, domain: Number.parseInt(m[1]!, 16), bus: Number.parseInt(m[2]!, 16), dev: f.dev, fn: f.fn, path, parent: dirname(path), config, f };
}

/** slots/N/address ("dddd:bb:dd") → the slot name, for every function at that device. */
function readSlots(sys: string): Map<string, string> {
  const out = new Map<string, string>();
  const dir = join(sys, 'bus/pci/slots');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const addr = text(join(dir, name, 'address'))?.trim();
    if (addr && /^[0-9a-f]+:[0-9a-f]{2}:[0-9a-f]{2}$/.test(addr) && !out.has(addr)) out.set(addr, name);
  }
  return out;
}

export interface SysfsPci {
  hostBridges: ReplayHostBridge[];
  /** functions whose config came back shorter than 256 bytes (a non-root reader gets 64) */
  shortConfig: number;
  functions: number;
}

/** The PCI hierarchy under SYS (normally /sys), nested as the device paths nest; VFs go under their PF. */
export function readSysfsPci(sys: string): SysfsPci {
  const bdfs = readdirSync(join(sys, 'bus/pci/devices')).filter((n) => BDF.test(n));
  const all = bdfs.map((b) => readFunction(sys, b));
  const byPath = new Map(all.map((r) => [r.path, r]));
  const slots = readSlots(sys);
  const name = functionNamer();
  const roots = new Map<string, ReplayHostBridge>();
  const order = (a: Read, b: Read) => a.domain - b.domain || a.bus - b.bus || a.dev * 8 + a.fn - (b.dev * 8 + b.fn);
  for (const r of all.sort(order)) {
    const slot = slots.get(r.bdf.slice(0, r.bdf.lastIndexOf('.')));
    if (slot !== undefined) r.f.physicalSlot = slot;
    r.f.name = name(idsFromConfig(r.config).classCode);
    if (existsSync(join(r.path, 'physfn'))) continue; // a VF: recorded with its PF
    const parent = byPath.get(r.parent);
    if (parent) {
      parent.f.children.push(r.f);
      continue;
    }
    const rm = ROOT_BUS.exec(basename(r.parent));
    const key = rm ? `${rm[1]}:${rm[2]}` : `${r.domain.toString(16)}:${r.bus.toString(16)}`;
    let hb = roots.get(key);
    if (!hb) {
      hb = { domain: rm ? Number.parseInt(rm[1]!, 16) : r.domain, bus: rm ? Number.parseInt(rm[2]!, 16) : r.bus, children: [] };
      roots.set(key, hb);
    }
    hb.children.push(r.f);
  }
  return {
    hostBridges: [...roots.values()].sort((a, b) => a.domain - b.domain || a.bus - b.bus),
    shortConfig: all.filter((r) => r.config.length < 256).length,
    functions: all.length,
  };
}
