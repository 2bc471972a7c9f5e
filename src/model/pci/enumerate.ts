// Topology spec → PCI hierarchy: bus numbers by depth-first enumeration
// (pci_scan_child_bus/pci_scan_bridge order) unless the file fixes them,
// resources, IRQs, IOMMU groups and config space, plus the boot log lines.
// A function given by its config bytes is read, not built: its role, IDs,
// bus numbers, link and ACS come from the bytes (raw-function.ts).

import { ACS_BITS, type AcsBit, type EndpointSpec, type HostBridgeSpec, type NodeSpec, type PortSpec, type SpecPos, type TopologySpec } from '../../config/index.js';
import { topologyErrorAt } from '../../config/index.js';
import type { KernelLog } from '../klog.js';
import { buildConfigSpace, setConfig } from './config-space.js';
import { PciHostBridge } from './host-bridge.js';
import { PciDev, type PciRole } from './pci-dev.js';
import { isMultifunction, PciHost } from './pci-host.js';
import { assignResources } from './resources.js';
import { assignIommuGroups } from './iommu-group.js';
import { logEnumeration } from './boot-log.js';
import { assignInterrupts } from './interrupts.js';
import { rawBridgeBuses, rawFunction } from './raw-function.js';
import { iovBarsOf, maxVfBus } from './sriov-cap.js';
import { sriovInit } from './sriov.js';
import { iovResourceLines } from './resource-lines.js';

/**
 * Physical slots, numbered from 1 in bus order: every root or downstream port
 * whose secondary bus holds an endpoint leads to a slot (a U.2 bay or a card
 * slot); a port that leads to a switch is a board-level link without one.
 * Ports given by config bytes have the slots their recording names.
 */
function assignPhysicalSlots(host: PciHost): void {
  let next = 1;
  for (const port of host.sorted()) {
    if (port.raw || (port.role !== 'root_port' && port.role !== 'switch_downstream')) continue;
    if (!port.children.some((c) => !c.isBridge)) continue;
    const number = next++;
    for (const c of port.children) c.physicalSlot = number;
  }
}

const PCI_BRIDGE_CLASS = 0x060400;

function acsValue(bits: AcsBit[]): number {
  return bits.reduce((v, b) => v | ACS_BITS[b], 0);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

const slotOrder = (a: { slot: { dev: number; fn: number } }, b: { slot: { dev: number; fn: number } }) => a.slot.dev * 8 + a.slot.fn - (b.slot.dev * 8 + b.slot.fn);

class Enumerator {
  private nextBus = 0;
  private readonly usedBuses = new Map<string, string>(); // "domain:bus" → where
  readonly devices: PciDev[] = [];

  constructor(private readonly spec: TopologySpec) {}

  /** `recorded`: the bus number comes from config bytes, which need not follow depth-first order. */
  private claimBus(hb: PciHostBridge, bus: number, at: SpecPos, fixed: boolean, recorded = false): number {
    if (bus > 255) throw topologyErrorAt(at, `bus conflict: no bus number left (enumeration reached ${bus}, the limit is 255)`);
    const key = `${hb.domain}:${bus}`;
    const owner = this.usedBuses.get(key);
    if (owner !== undefined || (fixed && !recorded && bus < this.nextBus)) {
      throw topologyErrorAt(
        at,
        `bus conflict: bus ${hex2(bus)} in domain ${hb.domain.toString(16).padStart(4, '0')} is already taken${owner ? ` (by ${owner})` : ''}; depth-first enumeration has reached bus ${hex2(this.nextBus - 1)} here`,
      );
    }
    this.usedBuses.set(key, at.where);
    this.nextBus = Math.max(this.nextBus, bus + 1);
    return bus;
  }

  run(): PciHost {
    const bridges = this.spec.hostBridges.map((s, i) => this.hostBridge(s, i));
    setRootBusRanges(bridges);
    const host = new PciHost(this.spec, bridges, this.devices);
    assignInterrupts(this.devices);
    assignPhysicalSlots(host);
    // kernel: pci_pm_init(): d3cold_allowed starts true only for functions with power management
    for (const dev of this.devices) dev.d3coldAllowed = dev.hasPm;
    for (const hb of bridges) assignResources(hb, this.spec.hostBridges[hb.index]!.at);
    if (this.spec.iommu) assignIommuGroups(host);
    for (const dev of this.devices) {
      if (dev.endpoint?.iommuGroup !== undefined) dev.iommuGroup = dev.endpoint.iommuGroup;
      if (!dev.raw) setConfig(dev, buildConfigSpace(dev, isMultifunction(dev)));
      // kernel: pci_iov_init() from pci_init_capabilities(): a PF's SR-IOV state, VFs off
      dev.sriov = sriovInit(dev, iovResourceLines(dev), dev.endpoint?.sriov?.autoprobe ?? true);
    }
    return host;
  }

  private hostBridge(s: HostBridgeSpec, index: number): PciHostBridge {
    const hb = new PciHostBridge(s.name, index, s.domain, s.bus, s.vendor, s.device, s.numaNode);
    const prev = this.spec.hostBridges[index - 1];
    if (prev && prev.domain !== s.domain) this.nextBus = 0;
    this.nextBus = Math.max(this.nextBus, s.bus);
    if (index > 0 && s.bus < this.nextBus && prev!.domain === s.domain) {
      throw topologyErrorAt(s.busAt, `bus conflict: root bus ${hex2(s.bus)} lies inside the bus range of host bridge ${prev!.name} (up to ${hex2(this.nextBus - 1)})`);
    }
    // (slot 00.0 of a root bus is the host bridge's own unless it says function: none: the parser has kept it free)
    this.claimBus(hb, s.bus, s.busAt, false);
    if (s.fn) {
      const ids = { vendor: s.vendor, device: s.device, subsystemVendor: s.fn.subsystemVendor, subsystemDevice: s.fn.subsystemDevice, revision: s.fn.revision, classCode: s.fn.classCode };
      const hbDev = new PciDev(s.name, 'host_bridge', hb, undefined, 0, 0, ids, undefined, undefined, s.numaNode, undefined, undefined, s.where);
      hbDev.isPcie = false;
      hbDev.cfgSize = s.fn.configSize;
      this.add(hbDev, s.bus, hb.rootBusDevices);
    }
    this.scanBus(hb, undefined, s.bus, s.children, hb.rootBusDevices, s.numaNode);
    hb.busEnd = this.nextBus - 1;
    const first = s.fn ? undefined : hb.whitelistDevice();
    if (first) [hb.vendor, hb.device] = [first.ids.vendor, first.ids.device];
    return hb;
  }

  private add(dev: PciDev, bus: number, list: PciDev[]): void {
    dev.bus = bus;
    if (dev.driver) dev.enableCount = 1; // pci_enable_device() at probe
    list.push(dev);
    this.devices.push(dev);
  }

  private scanBus(hb: PciHostBridge, parent: PciDev | undefined, bus: number, nodes: NodeSpec[], list: PciDev[], numa: number): void {
    // (the parser has refused functions > 0 without function 0: the scan would never find them)
    for (const n of [...nodes].sort(slotOrder)) {
      if (n.kind === 'root_port') this.port(hb, parent, bus, n, 'root_port', list, numa);
      else if (n.kind === 'switch') this.port(hb, parent, bus, n.upstream, 'switch_upstream', list, numa, n.ports);
      else if (n.config) this.recorded(hb, parent, bus, n, list);
      else this.endpoint(hb, parent, bus, n, list);
    }
    // kernel: pci_scan_child_bus_extend(): bus numbers are kept free for VFs that land past the bus (pci_iov_bus_range)
    const vfBuses = list.filter((d) => d.bus === bus).map((d) => maxVfBus(d, d.raw ? d.config : undefined, d.endpoint?.sriov?.cap) ?? 0);
    this.nextBus = Math.max(this.nextBus, ...vfBuses.map((b) => b + 1));
  }

  private port(
    hb: PciHostBridge,
    parent: PciDev | undefined,
    bus: number,
    p: PortSpec,
    role: PciRole,
    list: PciDev[],
    numa: number,
    downstreamPorts?: PortSpec[],
  ): PciDev {
    // Root and downstream ports always carry ACS; an upstream port only when the file gives bits.
    const acs = role === 'switch_upstream' && p.acs.length === 0 ? undefined : acsValue(p.acs);
    const dev = new PciDev(
      p.name,
      role,
      hb,
      parent,
      p.slot.dev,
      p.slot.fn,
      { vendor: p.vendor, device: p.device, subsystemVendor: 0, subsystemDevice: 0, revision: 0, classCode: PCI_BRIDGE_CLASS },
      p.link,
      acs,
      numa,
      'pcieport',
      undefined,
      p.where,
    );
    this.add(dev, bus, list);
    this.checkInsideParent(parent, p.bus ?? this.nextBus, p.busAt);
    const secondary = this.claimBus(hb, p.bus ?? this.nextBus, p.busAt, p.bus !== undefined);
    if (downstreamPorts) {
      for (const dp of [...downstreamPorts].sort(slotOrder)) this.port(hb, dev, secondary, dp, 'switch_downstream', dev.children, numa);
    } else {
      this.scanBus(hb, dev, secondary, p.children, dev.children, numa);
    }
    dev.busRange = [secondary, this.nextBus - 1];
    return dev;
  }

  /** A bus the model numbers below a bridge whose bytes fix its range must lie inside that range. */
  private checkInsideParent(parent: PciDev | undefined, bus: number, at: SpecPos): void {
    if (!parent?.raw || !parent.busRange) return;
    const [sec, sub] = parent.busRange;
    if (bus < sec || bus > sub) throw topologyErrorAt(at, `bus ${hex2(bus)} lies outside the bus range [${hex2(sec)}-${hex2(sub)}] that ${parent.name}'s config space gives`);
  }

  private endpoint(hb: PciHostBridge, parent: PciDev | undefined, bus: number, e: EndpointSpec, list: PciDev[]): void {
    const dev = new PciDev(
      e.name,
      e.kind,
      hb,
      parent,
      e.slot.dev,
      e.slot.fn,
      { vendor: e.vendor, device: e.device, subsystemVendor: e.subsystemVendor, subsystemDevice: e.subsystemDevice, revision: e.revision, classCode: e.classCode },
      e.link,
      e.acs ? acsValue(e.acs) : undefined,
      e.numaNode ?? hb.numaNode,
      e.driver,
      e,
      e.where,
    );
    dev.maxLink = e.maxLink;
    dev.isPcie = e.pcie;
    if (!e.pcie) dev.cfgSize = 256;
    dev.bars = e.bars.map((b) => ({ index: b.index, start: 0, size: b.size, is64: b.is64, prefetch: b.prefetch }));
    if (e.sriov?.cap) dev.iovBars = iovBarsOf(e.sriov.cap);
    this.add(dev, bus, list);
  }

  /** A function given by its config bytes; a bridge among them takes its bus numbers from them too. */
  private recorded(hb: PciHostBridge, parent: PciDev | undefined, bus: number, e: EndpointSpec, list: PciDev[]): void {
    const dev = rawFunction(e, hb, parent);
    this.add(dev, bus, list);
    const buses = rawBridgeBuses(dev, e, bus);
    if (!buses) return;
    this.checkInsideParent(parent, buses[0], e.config!.at);
    this.claimBus(hb, buses[0], e.config!.at, true, true);
    dev.busRange = buses;
    this.scanBus(hb, dev, buses[0], e.children, dev.children, dev.numaNode);
    // firmware need not number depth-first: what counts is that everything below stays inside the range
    const below = Math.max(...dev.children.map((c) => c.busRange?.[1] ?? c.bus));
    if (below > buses[1]) {
      throw topologyErrorAt(e.at, `the functions below need bus ${hex2(below)}, beyond the subordinate bus ${hex2(buses[1])} this bridge's config space gives`);
    }
    this.nextBus = Math.max(this.nextBus, buses[1] + 1);
  }
}

/** Each root bus may use the buses up to the next host bridge's root bus in its domain (the root bus resource). */
function setRootBusRanges(bridges: PciHostBridge[]): void {
  for (const hb of bridges) {
    const next = bridges.filter((o) => o.domain === hb.domain && o.bus > hb.bus).map((o) => o.bus);
    hb.busnEnd = next.length ? Math.min(...next) - 1 : 0xff;
  }
}

/** Builds the PCI hierarchy and logs what a booting kernel would print about it. */
export function enumerate(spec: TopologySpec, klog?: KernelLog): PciHost {
  const host = new Enumerator(spec).run();
  if (klog) logEnumeration(host, klog);
  return host;
}

