// A function whose config space the topology gives as bytes (recorded with
// p2pemu record, imported from an lspci dump, or written by hand): the model
// reads it the way pci_setup_device() reads hardware and keeps the bytes as
// the one truth. Its resource lines, IRQs and slot come from the recording.

import type { EndpointSpec } from '../../config/index.js';
import { topologyErrorAt } from '../../config/index.js';
import { setConfig } from './config-space.js';
import { bridgeBuses, idsFromConfig, isPcieConfig } from './config-read.js';
import type { PciHostBridge } from './host-bridge.js';
import { PciDev, type ResourceLine } from './pci-dev.js';
import { barsFromLines } from './resource-lines.js';
import { roleFromConfig } from './role.js';
import * as R from './regs.js';

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** The ACS Control bits the file asks for, written into the bytes' ACS capability (an edit of a recording). */
function applyAcsOverride(dev: PciDev, e: EndpointSpec): void {
  if (!e.acs) return;
  if (!dev.acsCap) throw topologyErrorAt(e.at, 'acs: this function has no ACS capability in its config space');
  const ctrl = e.acs.reduce((v, b) => v | ({ SV: 1, TB: 2, RR: 4, CR: 8, UF: 0x10, EC: 0x20, DT: 0x40 } as const)[b], 0);
  dev.config.writeUInt16LE(ctrl, dev.acsCap + R.PCI_ACS_CTRL);
}

export function rawFunction(e: EndpointSpec, hb: PciHostBridge, parent: PciDev | undefined): PciDev {
  const cfg = Buffer.from(e.config!.bytes);
  const role = e.kind === 'function' ? roleFromConfig(cfg) : e.kind;
  const dev = new PciDev(e.name, role, hb, parent, e.slot.dev, e.slot.fn, idsFromConfig(cfg), undefined, undefined, e.numaNode ?? hb.numaNode, e.driver, e, e.where);
  dev.raw = true;
  dev.cfgSize = cfg.length;
  dev.isPcie = isPcieConfig(cfg);
  setConfig(dev, cfg);
  applyAcsOverride(dev, e);
  if (dev.acsCap && cfg.length >= dev.acsCap + 8) dev.acsCtrl = cfg.readUInt16LE(dev.acsCap + R.PCI_ACS_CTRL);
  const lines: ResourceLine[] = (e.resource ?? []).map((r) => ({ index: r.index, start: r.start, size: r.size, flags: r.flags }));
  dev.resources = lines.sort((a, b) => a.index - b.index);
  dev.bars = barsFromLines(lines);
  dev.slotName = e.physicalSlot;
  return dev;
}

/**
 * A bridge's [secondary, subordinate] from its bytes; undefined for a
 * function that is no bridge or a bridge the firmware gave no bus (then
 * nothing may be placed below it).
 */
export function rawBridgeBuses(dev: PciDev, e: EndpointSpec, bus: number): [number, number] | undefined {
  const buses = dev.isBridge ? bridgeBuses(dev.config) : undefined;
  const usable = buses && buses.secondary > bus && buses.subordinate >= buses.secondary;
  if (!usable) {
    if (e.children.length > 0) {
      const why = dev.isBridge ? `its config space gives it no bus below (secondary ${hex2(buses!.secondary)}, subordinate ${hex2(buses!.subordinate)})` : 'its config space has no bridge header';
      throw topologyErrorAt(e.at, `children: nothing can sit below this function: ${why}`);
    }
    return undefined;
  }
  return [buses.secondary, buses.subordinate];
}
