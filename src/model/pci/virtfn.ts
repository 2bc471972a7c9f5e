// One VF as pci_iov_add_virtfn() builds it: on the bus and devfn the PF's
// offset and stride give, IDs from the PF (vendor) and the capability (VF
// Device ID), class, header and subsystem from VF 0's config space, BARs
// carved out of the PF's VF BAR regions, and the PF's parent as its parent.

import type { EndpointSpec, VfSpec } from '../../config/index.js';
import { buildConfigSpace, setConfig } from './config-space.js';
import { cfgByte, findCapability, idsFromConfig, isPcieConfig } from './config-read.js';
import { msiFromConfig } from './interrupts.js';
import { PciDev, type ResourceLine } from './pci-dev.js';
import * as R from './regs.js';
import { barsFromLines, iovResourceLines } from './resource-lines.js';
import { virtfnPlace } from './sriov.js';

/** What the kernel reads from VF 0 once and gives every VF (pci_read_vf_config_common). */
interface VfCommon {
  classCode: number;
  revision: number;
  subsystemVendor: number;
  subsystemDevice: number;
}

const vfCommon = new WeakMap<PciDev, VfCommon>();

/** The topology entry a VF acts on: its recorded config and driver, and the P2P memory the PF's spec gives VFs. */
function vfEndpoint(pf: PciDev, id: number, rec: VfSpec | undefined): EndpointSpec {
  const ep = pf.endpoint!;
  const s = ep.sriov;
  const driver = rec?.driver === null ? undefined : (rec?.driver ?? s?.vfDriver);
  return {
    ...ep,
    kind: 'function',
    name: `${pf.name}v${id}`,
    driver,
    cmb: undefined,
    nvme: undefined,
    p2pmem: s?.p2pmem,
    p2pdmaQueues: false,
    devicePrivate: 0,
    config: rec?.config,
    resource: undefined,
    irq: rec?.irq,
    msiIrqs: rec?.msiIrqs,
    iommuGroup: rec?.iommuGroup,
    physicalSlot: undefined,
    sriov: undefined,
    children: [],
    acs: undefined,
  };
}

/** The VF's resources: slice `id` of each of the PF's VF BAR regions (resource lines 7–12), with their flags. */
function vfResources(pf: PciDev, id: number): ResourceLine[] {
  const iov = pf.sriov!;
  const out: ResourceLine[] = [];
  for (const line of iovResourceLines(pf)) {
    const i = line.index - R.PCI_IOV_RESOURCES;
    if (i < 0 || i >= R.PCI_SRIOV_NUM_BARS || !iov.barsz[i] || !line.start) continue;
    out.push({ index: i, start: line.start + iov.barsz[i]! * id, size: iov.barsz[i]!, flags: line.flags });
  }
  return out;
}

// kernel: pci_iov_add_virtfn(), drivers/pci/iov.c
export function createVirtfn(pf: PciDev, id: number): PciDev {
  const iov = pf.sriov!;
  const rec = pf.endpoint?.sriov?.vfs[id];
  const ep = vfEndpoint(pf, id, rec);
  const { bus, devfn } = virtfnPlace(pf, iov, id);
  const vf = new PciDev(
    ep.name,
    'function',
    pf.hostBridge,
    // kernel: the VF's device parent is the PF's parent; pci_upstream_bridge() goes through the PF as well
    pf.upstream,
    devfn >> 3,
    devfn & 7,
    { vendor: pf.ids.vendor, device: iov.vfDevice, subsystemVendor: 0, subsystemDevice: 0, revision: 0, classCode: 0 },
    undefined,
    undefined,
    rec?.numaNode ?? pf.numaNode,
    undefined,
    ep,
    pf.where,
  );
  vf.bus = bus;
  vf.physfn = pf;
  vf.vfIndex = id;
  vf.resources = vfResources(pf, id);
  vf.bars = barsFromLines(vf.resources);
  vf.intxPin = 0; // VFs have no INTx
  vf.irq = rec?.irq ?? 0;
  if (rec?.config) {
    vf.raw = true;
    setConfig(vf, Buffer.from(rec.config.bytes));
    vf.cfgSize = rec.config.bytes.length;
    vf.isPcie = isPcieConfig(vf.config);
    vf.msi = msiFromConfig(vf.config);
    vf.intxPin = cfgByte(vf.config, R.PCI_INTERRUPT_PIN);
  } else {
    // no recorded config: a PCI Express endpoint shaped like the PF (its class, revision, subsystem; MSI-X when the PF has it)
    Object.assign(vf.ids, { classCode: pf.ids.classCode, revision: pf.ids.revision, subsystemVendor: pf.ids.subsystemVendor, subsystemDevice: pf.ids.subsystemDevice });
    vf.msi = pf.msi ? { kind: pf.msi.kind, capable: pf.msi.capable, irqs: [] } : undefined;
    setConfig(vf, buildConfigSpace(vf, false));
  }
  // kernel: pci_read_vf_config_common(): class, header and subsystem are read from VF 0 and shared
  if (id === 0 || !vfCommon.has(pf)) {
    const c = idsFromConfig(vf.config);
    vfCommon.set(pf, { classCode: c.classCode, revision: c.revision, subsystemVendor: c.subsystemVendor, subsystemDevice: c.subsystemDevice });
  }
  Object.assign(vf.ids, vfCommon.get(pf)!);
  vf.d3coldAllowed = findCapability(vf.config, R.PCI_CAP_ID_PM) !== 0;
  return vf;
}
