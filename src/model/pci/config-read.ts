// Reading a function's config space the way the kernel's probe does: the
// capability lists, the PCI Express port type, link registers, bridge bus
// numbers and windows. Every model fact that config space holds is read from
// the bytes here, so a setpci write or an edited recording changes it.

import type { PciIds } from '../../config/index.js';
import * as R from './regs.js';

const u8 = (cfg: Buffer, off: number) => (off < cfg.length ? cfg[off]! : 0xff);
const u16 = (cfg: Buffer, off: number) => (off + 2 <= cfg.length ? cfg.readUInt16LE(off) : 0xffff);
const u32 = (cfg: Buffer, off: number) => (off + 4 <= cfg.length ? cfg.readUInt32LE(off) : 0xffffffff);

/** Bounds the walks: a looping list (broken hardware, a bad edit) ends instead of spinning. */
const MAX_CAPS = 48;
const MAX_EXT_CAPS = (R.PCI_CFG_SPACE_EXP_SIZE - R.PCI_CFG_SPACE_SIZE) / 8;

export function headerType(cfg: Buffer): number {
  return u8(cfg, R.PCI_HEADER_TYPE) & 0x7f;
}

// kernel: pci_find_capability(), drivers/pci/pci.c: walks the list from 0x34 (0x14 for CardBus) while Status says it exists
/** Offset of a standard capability, or 0. */
export function findCapability(cfg: Buffer, id: number): number {
  if (!(u16(cfg, R.PCI_STATUS) & R.PCI_STATUS_CAP_LIST)) return 0;
  let pos = u8(cfg, headerType(cfg) === R.PCI_HEADER_TYPE_CARDBUS ? R.PCI_CB_CAPABILITY_LIST : R.PCI_CAPABILITY_LIST);
  for (let n = 0; n < MAX_CAPS && pos >= 0x40; n++) {
    pos &= ~3;
    const cap = u8(cfg, pos);
    if (cap === 0xff) return 0;
    if (cap === id) return pos;
    pos = u8(cfg, pos + 1);
  }
  return 0;
}

// kernel: pci_find_ext_capability(), drivers/pci/pci.c: from 0x100, only when config space is 4096 bytes
/** Offset of an extended capability, or 0. */
export function findExtCapability(cfg: Buffer, id: number): number {
  if (cfg.length <= R.PCI_CFG_SPACE_SIZE) return 0;
  let pos = R.PCI_CFG_SPACE_SIZE;
  for (let n = 0; n < MAX_EXT_CAPS; n++) {
    const header = u32(cfg, pos);
    if (header === 0 || header === 0xffffffff) return 0;
    if ((header & 0xffff) === id) return pos;
    pos = (header >>> 20) & 0xffc;
    if (pos < R.PCI_CFG_SPACE_SIZE) return 0;
  }
  return 0;
}

/** The PCI Express capability's device/port type, or undefined for a conventional PCI function. */
export function pcieType(cfg: Buffer): number | undefined {
  const exp = findCapability(cfg, R.PCI_CAP_ID_EXP);
  return exp ? (u16(cfg, exp + R.PCI_EXP_FLAGS) >>> 4) & 0xf : undefined;
}

export type ConfigIds = PciIds;

// kernel: pci_setup_device(), drivers/pci/probe.c: IDs, class and revision; subsystem IDs from the header (or the bridge's SSVID capability)
export function idsFromConfig(cfg: Buffer): ConfigIds {
  const ids = {
    vendor: u16(cfg, R.PCI_VENDOR_ID),
    device: u16(cfg, R.PCI_DEVICE_ID),
    revision: u8(cfg, R.PCI_REVISION_ID),
    classCode: u32(cfg, R.PCI_REVISION_ID) >>> 8,
    subsystemVendor: 0,
    subsystemDevice: 0,
  };
  const type = headerType(cfg);
  if (type === R.PCI_HEADER_TYPE_NORMAL) {
    ids.subsystemVendor = u16(cfg, R.PCI_SUBSYSTEM_VENDOR_ID);
    ids.subsystemDevice = u16(cfg, R.PCI_SUBSYSTEM_ID);
  } else if (type === R.PCI_HEADER_TYPE_BRIDGE) {
    const ssvid = findCapability(cfg, R.PCI_CAP_ID_SSVID);
    if (ssvid) {
      ids.subsystemVendor = u16(cfg, ssvid + R.PCI_SSVID_VENDOR_ID);
      ids.subsystemDevice = u16(cfg, ssvid + R.PCI_SSVID_DEVICE_ID);
    }
  }
  return ids;
}

/** A bridge's primary, secondary and subordinate bus numbers (type 1 and CardBus headers). */
export function bridgeBuses(cfg: Buffer): { primary: number; secondary: number; subordinate: number } | undefined {
  const type = headerType(cfg);
  if (type === R.PCI_HEADER_TYPE_BRIDGE) {
    return { primary: u8(cfg, R.PCI_PRIMARY_BUS), secondary: u8(cfg, R.PCI_SECONDARY_BUS), subordinate: u8(cfg, R.PCI_SUBORDINATE_BUS) };
  }
  if (type === R.PCI_HEADER_TYPE_CARDBUS) {
    return { primary: u8(cfg, R.PCI_CB_PRIMARY_BUS), secondary: u8(cfg, R.PCI_CB_CARD_BUS), subordinate: u8(cfg, R.PCI_CB_SUBORDINATE_BUS) };
  }
  return undefined;
}

const LINK_SPEEDS_GTS = [0, 2.5, 5, 8, 16, 32, 64];

/** GT/s of a Link Speed encoding (1 = 2.5 GT/s … 6 = 64 GT/s); undefined when the code is unknown. */
export function linkSpeedFromCode(code: number): number | undefined {
  return code >= 1 && code < LINK_SPEEDS_GTS.length ? LINK_SPEEDS_GTS[code] : undefined;
}

// kernel: current_link_speed_show() / current_link_width_show(), drivers/pci/pci-sysfs.c: Link Status, read live
export function currentLink(cfg: Buffer): { speed: number | undefined; width: number } | undefined {
  const exp = findCapability(cfg, R.PCI_CAP_ID_EXP);
  if (!exp) return undefined;
  const sta = u16(cfg, exp + R.PCI_EXP_LNKSTA);
  return { speed: linkSpeedFromCode(sta & R.PCI_EXP_LNKSTA_CLS), width: (sta & R.PCI_EXP_LNKSTA_NLW) >>> 4 };
}

// kernel: pcie_get_speed_cap() / pcie_get_width_cap(), drivers/pci/pci.c: a non-zero LNKCAP2 (capability version 2 only)
// decides by its Supported Link Speeds vector; otherwise LNKCAP, which only knew 2.5 and 5 GT/s
export function maxLink(cfg: Buffer): { speed: number | undefined; width: number } | undefined {
  const exp = findCapability(cfg, R.PCI_CAP_ID_EXP);
  if (!exp) return undefined;
  const cap = u32(cfg, exp + R.PCI_EXP_LNKCAP);
  const version = u16(cfg, exp + R.PCI_EXP_FLAGS) & R.PCI_EXP_FLAGS_VERS;
  const cap2 = version > 1 ? u32(cfg, exp + R.PCI_EXP_LNKCAP2) : 0;
  const width = (cap & R.PCI_EXP_LNKCAP_MLW) >>> 4;
  if (cap2) {
    const vector = (cap2 & R.PCI_EXP_LNKCAP2_SLS) >>> 1;
    return { speed: vector ? linkSpeedFromCode(32 - Math.clz32(vector)) : undefined, width };
  }
  const sls = cap & R.PCI_EXP_LNKCAP_SLS;
  return { speed: sls === 1 || sls === 2 ? linkSpeedFromCode(sls) : undefined, width };
}

/** Whether the function has a PCI Express capability. */
export function isPcieConfig(cfg: Buffer): boolean {
  return findCapability(cfg, R.PCI_CAP_ID_EXP) !== 0;
}

export { u8 as cfgByte, u16 as cfgWord, u32 as cfgDword };
