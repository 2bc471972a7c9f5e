// Topology file → TopologySpec. Every default is filled in here; every
// problem is a TopologyError naming file, line and column.

import { readFileSync } from 'node:fs';
import { DEFAULT_TOPOLOGY_NAME, DEFAULT_TOPOLOGY_YAML } from './default-topology.js';
import { KIND_DEFAULTS, PORT_DEFAULTS } from './kinds.js';
import { CMB_UNIT_MIN, cmbSzuFor } from './cmb-units.js';
import { formatSize, isPowerOfTwo, roundUpPowerOfTwo } from './sizes.js';
import {
  ACS_BITS,
  ENDPOINT_KINDS,
  NODE_KINDS,
  type AcsBit,
  type BarSpec,
  type CmbSpec,
  type EndpointKind,
  type FolioSpec,
  type EndpointSpec,
  type HostBridgeSpec,
  type LinkSpec,
  type NodeSpec,
  type NvmeSpec,
  PROFILES,
  type Profile,
  type P2pmemSpec,
  type PortSpec,
  type Slot,
  type TopologySpec,
} from './spec.js';
import { parseCpu, parseNuma } from './parse-cpus.js';
import { TopologyError } from './topology-error.js';
import { YamlFile, type Cursor } from './yaml-cursor.js';
import { parseIrqs, parseNumaNode, parseOptionalInt, parseRawConfig, parseResource, parseSriov } from './parse-function.js';
import { MAX_DOMAIN } from './spec.js';
import { HOST_FUNCTION_KEYS, parseHostFunction } from './parse-host-function.js';

const LINK_SPEEDS = [2.5, 5, 8, 16, 32, 64];
const CMB_FLAGS = ['SQS', 'CQS', 'LISTS', 'RDS', 'WDS'];
const MIN_BAR = 16; // the smallest memory BAR the PCI spec allows

export function loadTopology(file: string | undefined): TopologySpec {
  if (file === undefined) return parseTopology(DEFAULT_TOPOLOGY_NAME, DEFAULT_TOPOLOGY_YAML);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError(file, `cannot read topology file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return parseTopology(file, text);
}

export function parseTopology(file: string, text: string): TopologySpec {
  const root = new YamlFile(file, text).root();
  if (!root.present) root.fail('the topology file is empty');
  root.map(['name', 'profile', 'cpu', 'iommu', 'numa', 'host_bridges']);
  const cpu = parseCpu(root.get('cpu'));
  const numa = parseNuma(root.get('numa'));
  const bridges = root.get('host_bridges').list();
  if (bridges.length === 0) root.get('host_bridges').fail('at least one host bridge is needed');
  const names = new Set<string>();
  const profile = root.get('profile').str('mainline');
  if (!(PROFILES as readonly string[]).includes(profile)) root.get('profile').fail(`unknown profile "${profile}" (expected one of: ${PROFILES.join(', ')})`);
  const spec: TopologySpec = {
    file,
    name: root.get('name').str(file),
    profile: profile as Profile,
    cpu,
    iommu: root.get('iommu').bool(false),
    numa,
    hostBridges: bridges.map((b, i) => parseHostBridge(b, i, names)),
  };
  return spec;
}

function parseHostBridge(c: Cursor, i: number, names: Set<string>): HostBridgeSpec {
  c.map(['name', 'domain', 'bus', 'vendor', 'device', 'numa_node', 'children', 'function', ...HOST_FUNCTION_KEYS]);
  const fn = parseHostFunction(c);
  const hb: HostBridgeSpec = {
    where: c.where,
    at: c.pos,
    busAt: c.has('bus') ? c.get('bus').pos : c.pos,
    name: c.get('name').str(`hb${i}`),
    domain: c.get('domain').int(0, 0, MAX_DOMAIN),
    bus: c.get('bus').int(i === 0 ? 0 : undefined, 0, 255),
    vendor: c.get('vendor').int(0x8086, 0, 0xffff),
    device: c.get('device').int(0x09a2, 0, 0xffff),
    numaNode: c.get('numa_node').int(0, -1, 1023),
    fn,
    children: [],
  };
  hb.children = parseChildren(c.get('children'), names, fn ? 'root' : 'free', hb.numaNode);
  return hb;
}

/** root: a root bus whose 00.0 is the host bridge's; free: a root bus without one, or the bus below a bridge given by config */
type BusKind = 'root' | 'free' | 'port' | 'switch';

function parseChildren(list: Cursor, names: Set<string>, bus: BusKind, numaNode: number): NodeSpec[] {
  const cursors = list.list();
  const belowPort = bus === 'port' || bus === 'switch';
  const nodes = cursors.map((c) => parseNode(c, names, belowPort, numaNode));
  checkSlots(nodes.map((n, i) => ({ slot: n.slot, c: cursors[i]! })), bus);
  return nodes;
}

/**
 * The functions of one bus: no BDF twice; device 00.0 of a root bus is the host
 * bridge's own; below a PCIe port only device 0 exists (the kernel scans just
 * that slot); a function > 0 needs function 0 of its slot, or the scan never
 * finds it.
 */
function checkSlots(items: { slot: Slot; c: Cursor }[], bus: BusKind): void {
  const seen = new Map<string, Cursor>();
  for (const { slot, c } of items) {
    const key = formatSlot(slot);
    const slotKey = c.get('slot');
    if (seen.has(key)) slotKey.fail(`duplicate BDF: slot ${key} is already used at ${seen.get(key)!.where}`);
    seen.set(key, c);
    if (bus === 'root' && key === '00.0') slotKey.fail('slot 00.0 of a root bus is the host bridge itself; give this device another slot, e.g. "01.0" (or say function: none on the host bridge)');
    if (bus === 'port' && slot.dev !== 0) slotKey.fail(`a device below a PCIe port must be device 0, not ${key}`);
  }
  for (const { slot, c } of items) {
    if (slot.fn !== 0 && !items.some((o) => o.slot.dev === slot.dev && o.slot.fn === 0)) {
      c.get('slot').fail(`function ${slot.fn} of slot ${slot.dev.toString(16).padStart(2, '0')} has no function 0, so enumeration would never find it`);
    }
  }
}

function uniqueName(c: Cursor, names: Set<string>, name: string): string {
  if (names.has(name)) c.get('name').fail(`duplicate name "${name}"`);
  names.add(name);
  return name;
}

function parseNode(c: Cursor, names: Set<string>, belowPort: boolean, numaNode: number): NodeSpec {
  c.map(['kind', ...ALL_KEYS]);
  const kind = c.get('kind').str();
  if (!(NODE_KINDS as readonly string[]).includes(kind)) c.get('kind').fail(`unknown kind "${kind}" (expected one of: ${NODE_KINDS.join(', ')})`);
  if (kind === 'root_port') {
    if (belowPort) c.get('kind').fail('a root port sits on a root bus, directly under a host bridge');
    c.map(['kind', ...PORT_KEYS]);
    return { kind: 'root_port', ...parsePort(c, names, PORT_DEFAULTS.rootPort, `rp${names.size}`, numaNode) };
  }
  if (kind === 'switch') {
    if (!belowPort) c.get('kind').fail('a switch hangs below a root port or a switch downstream port');
    c.map(['kind', 'name', 'slot', 'vendor', 'device', 'acs', 'link', 'bus', 'ports']);
    const upstream = parsePort(c, names, PORT_DEFAULTS.switchPort, `sw${names.size}`, numaNode, false);
    const portList = c.get('ports').list();
    if (portList.length === 0) c.get('ports').fail('a switch needs at least one downstream port');
    const ports = portList.map((p, i) => {
      p.map(PORT_KEYS);
      return parsePort(p, names, { ...PORT_DEFAULTS.switchPort, link: upstream.link }, `${upstream.name}p${i}`, numaNode, true, i);
    });
    checkSlots(ports.map((port, i) => ({ slot: port.slot, c: portList[i]! })), 'switch');
    return { kind: 'switch', where: c.where, at: c.pos, slot: upstream.slot, name: upstream.name, upstream, ports };
  }
  return parseEndpoint(c, kind as EndpointKind, names, numaNode);
}

const PORT_KEYS = ['name', 'slot', 'vendor', 'device', 'acs', 'link', 'bus', 'children'];
const ENDPOINT_KEYS = [
  'name', 'slot', 'vendor', 'device', 'subsystem_vendor', 'subsystem_device', 'revision', 'class',
  'bars', 'link', 'max_link', 'numa_node', 'driver', 'acs', 'cmb', 'p2pmem', 'p2pdma',
  'namespaces', 'io_queues', 'queue_depth', 'use_cmb_sqes', 'model', 'serial', 'device_private',
  'config', 'config_size', 'pcie', 'resource', 'irq', 'msi_irqs', 'iommu_group', 'physical_slot', 'sriov', 'children',
];
const NVME_ONLY = ['namespaces', 'io_queues', 'queue_depth', 'use_cmb_sqes', 'model', 'serial'];
const ALL_KEYS = [...new Set([...PORT_KEYS, ...ENDPOINT_KEYS, 'ports'])];

function parsePort(
  c: Cursor,
  names: Set<string>,
  defaults: { vendor: number; device: number; link: LinkSpec },
  defaultName: string,
  numaNode: number,
  withChildren = true,
  defaultDev = 0,
): PortSpec {
  const name = uniqueName(c, names, c.get('name').str(defaultName));
  return {
    where: c.where,
    at: c.pos,
    name,
    slot: parseSlot(c.get('slot'), defaultDev),
    vendor: c.get('vendor').int(defaults.vendor, 0, 0xffff),
    device: c.get('device').int(defaults.device, 0, 0xffff),
    acs: parseAcs(c.get('acs')),
    link: parseLink(c.get('link'), defaults.link),
    bus: c.has('bus') ? c.get('bus').int(undefined, 1, 255) : undefined,
    busAt: c.has('bus') ? c.get('bus').pos : c.pos,
    children: withChildren ? parseChildren(c.get('children'), names, 'port', numaNode) : [],
  };
}

function parseEndpoint(c: Cursor, kind: EndpointKind, names: Set<string>, numaNode: number): EndpointSpec {
  const allowed = ENDPOINT_KEYS.filter((k) => (kind === 'nvme' || !NVME_ONLY.includes(k)) && (kind === 'function' || k !== 'children'));
  c.map(['kind', ...allowed]);
  const d = KIND_DEFAULTS[kind];
  const index = [...names].filter((n) => n.startsWith(kind)).length;
  const name = uniqueName(c, names, c.get('name').str(`${kind}${index}`));
  const config = parseRawConfig(c);
  // with config the BAR types are in the bytes and their sizes in resource lines
  const bars = config ? [] : c.has('bars') ? parseBars(c.get('bars')) : d.bars.map((b) => ({ ...b, at: c.pos }));
  const cmb = kind === 'nvme' && c.has('cmb') ? parseCmb(c.get('cmb'), bars) : undefined;
  if (kind !== 'nvme' && c.has('cmb')) c.get('cmb').fail('only an nvme endpoint has a controller memory buffer');
  if (config && cmb) c.get('cmb').fail('a cmb adds a BAR to generated config space; with config, give the BAR in the bytes and resource');
  let p2pmem: P2pmemSpec | undefined;
  if (c.has('p2pmem')) p2pmem = parseP2pmem(c.get('p2pmem'), config ? undefined : bars);
  else if (d.p2pmemBar !== undefined && bars.some((b) => b.index === d.p2pmemBar)) p2pmem = { bar: d.p2pmemBar, offset: 0, size: 0, folios: { policy: 'base', align: 4096 } };
  if (c.get('p2pmem').present && kind === 'nvme') c.get('p2pmem').fail('an nvme endpoint registers P2P memory through its cmb');
  const link = parseLink(c.get('link'), d.link);
  const driver = c.get('driver').str(d.driver);
  return {
    kind,
    where: c.where,
    at: c.pos,
    name,
    slot: parseSlot(c.get('slot'), 0),
    vendor: c.get('vendor').int(d.vendor, 0, 0xffff),
    device: c.get('device').int(d.device, 0, 0xffff),
    subsystemVendor: c.get('subsystem_vendor').int(d.subsystemVendor, 0, 0xffff),
    subsystemDevice: c.get('subsystem_device').int(d.subsystemDevice, 0, 0xffff),
    revision: c.get('revision').int(d.revision, 0, 0xff),
    classCode: c.get('class').int(d.classCode, 0, 0xffffff),
    bars,
    link,
    maxLink: c.has('max_link') ? parseLink(c.get('max_link'), link) : link,
    numaNode: parseNumaNode(c, numaNode),
    driver: driver === 'none' ? undefined : driver,
    acs: c.has('acs') ? parseAcs(c.get('acs')) : undefined,
    cmb,
    p2pmem,
    p2pdmaQueues: c.get('p2pdma').bool(kind === 'nvme'),
    nvme: kind === 'nvme' ? parseNvme(c, name) : undefined,
    // accelerators own device-private memory by default (HMM migration target)
    devicePrivate: c.get('device_private').size(kind === 'accelerator' ? 2 ** 30 : 0),
    config,
    pcie: c.get('pcie').bool(true),
    resource: parseResource(c, config !== undefined),
    irq: parseOptionalInt(c, 'irq', 0xffffff),
    msiIrqs: parseIrqs(c),
    iommuGroup: parseOptionalInt(c, 'iommu_group', 0xffffff),
    physicalSlot: c.has('physical_slot') ? c.get('physical_slot').str() : undefined,
    sriov: parseSriov(c, config !== undefined, parseBars, parseP2pmem),
    // a function given by config may be a bridge; the model checks its header before placing children
    children: kind === 'function' ? parseChildren(c.get('children'), names, 'free', numaNode) : [],
  };
}

function parseNvme(c: Cursor, name: string): NvmeSpec {
  const list = c.get('namespaces');
  const namespaces = list.present
    ? list.list().map((n, i) => {
        n.map(['nsid', 'size', 'lba']);
        const lbaSize = n.get('lba').int(512, 512, 4096);
        if (lbaSize !== 512 && lbaSize !== 4096) n.get('lba').fail('the logical block size must be 512 or 4096');
        const size = n.get('size').size();
        if (size === 0 || size % lbaSize !== 0) n.get('size').fail(`namespace size must be a non-zero multiple of the ${lbaSize}-byte block`);
        return { nsid: n.get('nsid').int(i + 1, 1, 0xfffffffe), size, lbaSize };
      })
    : [{ nsid: 1, size: 2 ** 30, lbaSize: 512 }];
  const seen = new Set<number>();
  for (const [i, ns] of namespaces.entries()) {
    if (seen.has(ns.nsid)) list.list()[i]!.get('nsid').fail(`duplicate namespace id ${ns.nsid}`);
    seen.add(ns.nsid);
  }
  return {
    namespaces,
    ioQueues: c.get('io_queues').int(4, 1, 128),
    queueDepth: c.get('queue_depth').int(1024, 2, 65536),
    useCmbSqes: c.get('use_cmb_sqes').bool(true),
    model: c.get('model').str('SAMSUNG MZWLJ1T9HBJR-00007'),
    serial: c.get('serial').str(`P2PEMU${name.toUpperCase().padStart(8, '0')}`),
  };
}

function parseSlot(c: Cursor, defaultDev: number): Slot {
  if (!c.present) return { dev: defaultDev, fn: 0 };
  const raw = c.str();
  const m = /^([0-9a-f]{1,2})(?:\.([0-7]))?$/i.exec(raw);
  if (!m) c.fail(`bad slot "${raw}" (expected DD or DD.F in hex, e.g. 01.0)`);
  const dev = parseInt(m[1]!, 16);
  if (dev > 31) c.fail(`device number 0x${dev.toString(16)} is out of range (00..1f)`);
  return { dev, fn: m[2] ? Number(m[2]) : 0 };
}

export function formatSlot(s: Slot): string {
  return `${s.dev.toString(16).padStart(2, '0')}.${s.fn}`;
}

function parseAcs(c: Cursor): AcsBit[] {
  return c.strings().map((bit) => {
    const up = bit.toUpperCase();
    if (!(up in ACS_BITS)) c.fail(`unknown ACS control bit "${bit}" (expected some of: ${Object.keys(ACS_BITS).join(', ')})`);
    return up as AcsBit;
  });
}

function parseLink(c: Cursor, fallback: LinkSpec): LinkSpec {
  if (!c.present) return { ...fallback };
  c.map(['speed', 'width']);
  const speed = c.get('speed').num(fallback.speed);
  if (!LINK_SPEEDS.includes(speed)) c.get('speed').fail(`link speed ${speed} GT/s is not a PCIe rate (${LINK_SPEEDS.join(', ')})`);
  const width = c.get('width').int(fallback.width, 1, 32);
  if (![1, 2, 4, 8, 12, 16, 32].includes(width)) c.get('width').fail(`link width x${width} is not a PCIe width`);
  return { speed, width };
}

function parseBars(c: Cursor): BarSpec[] {
  const used = new Map<number, Cursor>();
  return c.list().map((b) => {
    b.map(['index', 'size', 'bits', 'prefetch']);
    const index = b.get('index').int(undefined, 0, 5);
    const size = b.get('size').size();
    if (!isPowerOfTwo(size) || size < MIN_BAR) b.get('size').fail(`BAR size ${formatSize(size)} must be a power of two of at least 16 bytes`);
    const bits = b.get('bits').int(64, 32, 64);
    if (bits !== 32 && bits !== 64) b.get('bits').fail('bits must be 32 or 64');
    if (bits === 32 && size > 2 ** 31) b.get('size').fail(`a 32-bit BAR cannot hold ${formatSize(size)} (use bits: 64)`);
    if (bits === 64 && index === 5) b.get('index').fail('a 64-bit BAR takes two slots and cannot start at 5');
    for (const slot of bits === 64 ? [index, index + 1] : [index]) {
      if (used.has(slot)) b.get('index').fail(`BAR slot ${slot} is already taken by the BAR at ${used.get(slot)!.where}`);
      used.set(slot, b);
    }
    return { at: b.get('size').pos, index, size, is64: bits === 64, prefetch: b.get('prefetch').bool(bits === 64) };
  });
}

function findBar(c: Cursor, bars: BarSpec[], index: number): BarSpec {
  const bar = bars.find((b) => b.index === index);
  if (!bar) c.fail(`BAR ${index} does not exist on this device (it has: ${bars.map((b) => b.index).join(', ') || 'none'})`);
  return bar;
}

const FOLIO_POLICIES = ['base', 'device-align', 'best-effort'];
const HUGE = [2 ** 21, 2 ** 30];

/** folios: base | device-align | best-effort, align: 2MiB | 1GiB; NVMe's devmap_align (the series' cmb_devmap_align) means device-align. */
function parseFolios(c: Cursor, devmapAlign = false): FolioSpec {
  let policy = c.get('folios').str('base');
  if (!FOLIO_POLICIES.includes(policy)) c.get('folios').fail(`unknown folio policy "${policy}" (expected one of: ${FOLIO_POLICIES.join(', ')})`);
  const key = devmapAlign && c.has('devmap_align') ? 'devmap_align' : 'align';
  if (key === 'devmap_align') {
    if (c.has('folios') && policy !== 'device-align') c.get('devmap_align').fail('devmap_align is the device-align policy; drop folios or set it to device-align');
    policy = 'device-align';
  }
  const align = c.get(key).size(policy === 'base' ? 4096 : policy === 'best-effort' ? 2 ** 30 : 2 ** 21);
  if (policy !== 'base' && !HUGE.includes(align)) c.get(key).fail(`folio size must be 2MiB or 1GiB, not ${formatSize(align)}`);
  return { policy: policy as FolioSpec['policy'], align };
}

function parseCmb(c: Cursor, bars: BarSpec[]): CmbSpec {
  c.map(['size', 'bar', 'offset', 'flags', 'folios', 'align', 'devmap_align']);
  const size = c.get('size').size();
  const barIndex = c.get('bar').int(2, 0, 5);
  const offset = c.get('offset').size(0);
  const flags = c.has('flags') ? c.get('flags').strings().map((f) => f.toUpperCase()) : ['SQS', 'RDS', 'WDS'];
  for (const f of flags) if (!CMB_FLAGS.includes(f)) c.get('flags').fail(`unknown CMBSZ flag "${f}" (expected some of: ${CMB_FLAGS.join(', ')})`);
  if (size === 0) c.get('size').fail('a CMB needs a non-zero size');
  if (cmbSzuFor(size, offset) === undefined) {
    const key = size % CMB_UNIT_MIN === 0 ? 'offset' : 'size';
    c.get(key).fail(`the CMB's size and offset must be multiples of 4KiB that CMBSZ/CMBLOC can count (at most 0xfffff units of 4KiB, 64KiB, 1MiB, …, 64GiB)`);
  }
  let bar = bars.find((b) => b.index === barIndex);
  if (!bar) {
    // No BAR given for the CMB: add a 64-bit prefetchable one that fits it.
    if (bars.some((b) => b.index === barIndex || (b.is64 && b.index + 1 === barIndex))) findBar(c.get('bar'), bars, barIndex);
    bar = { at: c.get('size').pos, index: barIndex, size: roundUpPowerOfTwo(Math.max(offset + size, 2 ** 20)), is64: true, prefetch: true };
    bars.push(bar);
    bars.sort((a, b) => a.index - b.index);
  }
  if (offset + size > bar.size) {
    c.get('size').fail(`BAR ${barIndex} (${formatSize(bar.size)}) is smaller than the CMB it holds (offset ${formatSize(offset)} + ${formatSize(size)})`);
  }
  return { bar: barIndex, offset, size, flags, folios: parseFolios(c, true) };
}

/** bars undefined: the BAR sizes come from config and resource lines; the model checks the range when it registers it. */
function parseP2pmem(c: Cursor, bars: BarSpec[] | undefined): P2pmemSpec {
  c.map(['bar', 'offset', 'size', 'folios', 'align']);
  const index = c.get('bar').int(undefined, 0, 5);
  const offset = c.get('offset').size(0);
  const size = c.get('size').size(0);
  if (bars) {
    const bar = findBar(c.get('bar'), bars, index);
    if (offset >= bar.size) c.get('offset').fail(`offset ${formatSize(offset)} lies outside BAR ${bar.index} (${formatSize(bar.size)})`);
    if (offset + size > bar.size) {
      c.get('size').fail(`BAR ${bar.index} (${formatSize(bar.size)}) is smaller than the P2P memory it holds (offset ${formatSize(offset)} + ${formatSize(size)})`);
    }
  }
  return { bar: index, offset, size, folios: parseFolios(c) };
}

export { ENDPOINT_KINDS, ACS_BITS };
