// Which driver may bind a function: its static ID table (here: the driver the
// topology names), IDs added at run time through new_id, and driver_override.

import { kernelError } from '../../errno.js';
import type { PciDev } from '../pci/index.js';

const PCI_ANY_ID = 0xffffffff;

export interface PciDeviceId {
  vendor: number;
  device: number;
  subvendor: number;
  subdevice: number;
  classCode: number;
  classMask: number;
}

// kernel: new_id_store(), drivers/pci/pci-driver.c: "vendor device [subvendor subdevice class class_mask [driver_data]]", hex
export function parseNewId(text: string): PciDeviceId {
  const fields = text.trim().split(/\s+/).filter(Boolean);
  if (fields.length < 2 || fields.length > 7 || fields.some((f) => !/^(0x)?[0-9a-fA-F]+$/.test(f))) {
    throw kernelError('EINVAL', 'expected: vendor device [subvendor subdevice class class_mask [driver_data]] in hex');
  }
  const [vendor, device, subvendor = PCI_ANY_ID, subdevice = PCI_ANY_ID, classCode = 0, classMask = 0] = fields.map((f) => parseInt(f, 16) >>> 0);
  return { vendor: vendor!, device: device!, subvendor, subdevice, classCode, classMask };
}

// kernel: pci_match_one_device(), drivers/pci/pci.h
export function idMatches(id: PciDeviceId, dev: PciDev): boolean {
  const any = (want: number, have: number) => want === PCI_ANY_ID || want === have;
  return (
    any(id.vendor, dev.ids.vendor) &&
    any(id.device, dev.ids.device) &&
    any(id.subvendor, dev.ids.subsystemVendor) &&
    any(id.subdevice, dev.ids.subsystemDevice) &&
    ((id.classCode ^ dev.ids.classCode) & id.classMask) === 0
  );
}

/** Dynamic IDs per driver (the driver's dynids list). */
export class DynamicIds {
  private readonly byDriver = new Map<string, PciDeviceId[]>();

  add(driver: string, id: PciDeviceId): void {
    const list = this.byDriver.get(driver) ?? [];
    // kernel: new_id_store() refuses an ID the driver already has: EEXIST
    if (list.some((x) => JSON.stringify(x) === JSON.stringify(id))) throw kernelError('EEXIST', 'that ID is already in the driver\'s table');
    list.push(id);
    this.byDriver.set(driver, list);
  }

  // kernel: remove_id_store(), drivers/pci/pci-driver.c: ENODEV when no dynamic ID matches
  remove(driver: string, id: PciDeviceId): void {
    const list = this.byDriver.get(driver) ?? [];
    const i = list.findIndex((x) => x.vendor === id.vendor && x.device === id.device && x.subvendor === id.subvendor && x.subdevice === id.subdevice && x.classCode === id.classCode && x.classMask === id.classMask);
    if (i < 0) throw kernelError('ENODEV', 'no such dynamic ID');
    list.splice(i, 1);
  }

  matches(driver: string, dev: PciDev): boolean {
    return (this.byDriver.get(driver) ?? []).some((id) => idMatches(id, dev));
  }
}
