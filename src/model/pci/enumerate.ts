// Topology spec → PCI hierarchy: bus numbers by depth-first enumeration
// (pci_scan_child_bus/pci_scan_bridge order) unless the file fixes them,
// resources, IRQs, IOMMU groups and config space, plus the boot log lines.

import { ACS_BITS, type AcsBit, type EndpointSpec, type HostBridgeSpec, type NodeSpec, type PortSpec, type SpecPos, type TopologySpec } from '../../config/spec.js';
import { topologyErrorAt } from '../../config/topology-error.js';
import type { KernelLog } from '../klog.js';
import { buildConfigSpace } from './config-space.js';
import { PciHostBridge } from './host-bridge.js';
import { PciDev, type PciRole } from './pci-dev.js';
import { PciHost } from './pci-host.js';
import { assignResources } from './resources.js';
import { assignIommuGroups } from './iommu-group.js';
import { logEnumeration } from './boot-log.js';
import { assignInterrupts } from './interrupts.js';

/**
 * Physical slots, numbered from 1 in bus order: every root or downstream port
 * whose secondary bus holds an endpoint leads to a slot (a U.2 bay or a card
 * slot); a port that leads to a switch is a board-level link without one.
 */
function assignPhysicalSlots(host: PciHost): void {
  let next = 1;
  for (const port of host.sorted()) {
    if (port.role !== 'root_port' && port.role !== 'switch_downstream') continue;
    if (!port.children.some((c) => !c.isBridge)) continue;
    const number = next++;
    for (const c of port.children) c.physicalSlot = number;
  }
}

const HOST_BRIDGE_CLASS = 0x060000;
const PCI_BRIDGE_CLASS = 0x060400;

function acsValue(bits: AcsBit[]): number {
  return bits.reduce((v, b) => v | ACS_BITS[b], 0);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

class Enumerator {
  private nextBus = 0;
  private readonly usedBuses = new Map<string, string>(); // "domain:bus" → where
  readonly devices: PciDev[] = [];

  constructor(private readonly spec: TopologySpec) {}

  private claimBus(hb: PciHostBridge, bus: number, at: SpecPos, fixed: boolean): number {
    if (bus > 255) throw topologyErrorAt(at, `bus conflict: no bus number left (enumeration reached ${bus}, the limit is 255)`);
    const key = `${hb.domain}:${bus}`;
    const owner = this.usedBuses.get(key);
    if (owner !== undefined || (fixed && bus < this.nextBus)) {
      throw topologyErrorAt(
        at,
        `bus conflict: bus ${hex2(bus)} in domain ${hb.domain.toString(16).padStart(4, '0')} is already taken${owner ? ` (by ${owner})` : ''}; depth-first enumeration has reached bus ${hex2(this.nextBus - 1)} here`,
      );
    }
    this.usedBuses.set(key, at.where);
    this.nextBus = bus + 1;
    return bus;
  }

  run(): PciHost {
    const bridges = this.spec.hostBridges.map((s, i) => this.hostBridge(s, i));
    const host = new PciHost(this.spec, bridges, this.devices);
    assignInterrupts(this.devices);
    assignPhysicalSlots(host);
    // kernel: pci_pm_init(): d3cold_allowed starts true only for functions with power management
    for (const dev of this.devices) dev.d3coldAllowed = dev.hasPm;
    for (const hb of bridges) assignResources(hb, this.spec.hostBridges[hb.index]!.at);
    if (this.spec.iommu) assignIommuGroups(host);
    for (const dev of this.devices) {
      const siblings = dev.upstream ? dev.upstream.children : dev.hostBridge.rootBusDevices;
      const multifunction = siblings.some((s) => s !== dev && s.slot === dev.slot);
      dev.config = buildConfigSpace(dev, multifunction);
    }
    return host;
  }

  private hostBridge(s: HostBridgeSpec, index: number): PciHostBridge {
    const hb = new PciHostBridge(s.name, index, s.domain, s.bus, s.vendor, s.device, s.numaNode);
    this.nextBus = Math.max(this.nextBus, s.bus);
    if (index > 0 && s.bus < this.nextBus && this.spec.hostBridges[index - 1]!.domain === s.domain) {
      throw topologyErrorAt(s.busAt, `bus conflict: root bus ${hex2(s.bus)} lies inside the bus range of host bridge ${this.spec.hostBridges[index - 1]!.name} (up to ${hex2(this.nextBus - 1)})`);
    }
    // (slot 00.0 of a root bus is the host bridge's own: the parser has kept it free)
    this.claimBus(hb, s.bus, s.busAt, false);
    const hbDev = new PciDev(
      s.name,
      'host_bridge',
      hb,
      undefined,
      0,
      0,
      { vendor: s.vendor, device: s.device, subsystemVendor: s.vendor, subsystemDevice: 0, revision: 0, classCode: HOST_BRIDGE_CLASS },
      undefined,
      undefined,
      s.numaNode,
      undefined,
      undefined,
      s.where,
    );
    this.add(hbDev, s.bus, hb.rootBusDevices);
    this.scanBus(hb, undefined, s.bus, s.children, hb.rootBusDevices, s.numaNode);
    hb.busEnd = this.nextBus - 1;
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
    const ordered = [...nodes].sort((a, b) => a.slot.dev * 8 + a.slot.fn - (b.slot.dev * 8 + b.slot.fn));
    for (const n of ordered) {
      if (n.kind === 'root_port') this.port(hb, parent, bus, n, 'root_port', list, numa);
      else if (n.kind === 'switch') this.port(hb, parent, bus, n.upstream, 'switch_upstream', list, numa, n.ports);
      else this.endpoint(hb, parent, bus, n, list);
    }
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
    const secondary = this.claimBus(hb, p.bus ?? this.nextBus, p.busAt, p.bus !== undefined);
    if (downstreamPorts) {
      const ordered = [...downstreamPorts].sort((a, b) => a.slot.dev * 8 + a.slot.fn - (b.slot.dev * 8 + b.slot.fn));
      for (const dp of ordered) this.port(hb, dev, secondary, dp, 'switch_downstream', dev.children, numa);
    } else {
      this.scanBus(hb, dev, secondary, p.children, dev.children, numa);
    }
    dev.busRange = [secondary, this.nextBus - 1];
    return dev;
  }

  private endpoint(hb: PciHostBridge, parent: PciDev | undefined, bus: number, e: EndpointSpec, list: PciDev[]): void {
    const dev = new PciDev(
      e.name,
      e.kind,
      hb,
      parent,
      e.slot.dev,
      e.slot.fn,
      e,
      e.link,
      e.acs ? acsValue(e.acs) : undefined,
      e.numaNode ?? hb.numaNode,
      e.driver,
      e,
      e.where,
    );
    dev.bars = e.bars.map((b) => ({ index: b.index, start: 0, size: b.size, is64: b.is64, prefetch: b.prefetch }));
    this.add(dev, bus, list);
  }
}

/** Builds the PCI hierarchy and logs what a booting kernel would print about it. */
export function enumerate(spec: TopologySpec, klog?: KernelLog): PciHost {
  const host = new Enumerator(spec).run();
  if (klog) logEnumeration(host, klog);
  return host;
}
