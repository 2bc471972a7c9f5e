// Config space bytes of a function, laid out as real hardware does, so lspci
// decodes them: type 0/1 header, BARs, bridge bus numbers and windows, a
// capability list (power management, PCI Express) and the ACS extended
// capability with the control bits the topology sets.

import { findCapability, findExtCapability, pcieType as pcieTypeOf } from './config-read.js';
import { MSIX_TABLE } from './interrupts.js';
import { linkSpeedCode } from './link.js';
import type { PciDev } from './pci-dev.js';
import * as R from './regs.js';
import { writeSriovCap } from './sriov-cap.js';

// capability list: PM (0x40) → MSI (0x50, when advertised) → PCI Express (0x70) → MSI-X (0xb0, when advertised)
const PM_CAP = 0x40;
const MSI_CAP = 0x50;
const EXP_CAP = 0x70;
const MSIX_CAP = 0xb0;
const EXT_CAP = 0x100;
// ACS capabilities a port advertises: SV, TB, RR, CR, UF, DT (EC only when used)
const ACS_CAP_PORT = R.PCI_ACS_SV | R.PCI_ACS_TB | R.PCI_ACS_RR | R.PCI_ACS_CR | R.PCI_ACS_UF | R.PCI_ACS_DT;

function pcieType(dev: PciDev): number {
  switch (dev.role) {
    case 'root_port':
      return R.PCI_EXP_TYPE_ROOT_PORT;
    case 'switch_upstream':
      return R.PCI_EXP_TYPE_UPSTREAM;
    case 'switch_downstream':
      return R.PCI_EXP_TYPE_DOWNSTREAM;
    default:
      // a VF is the same kind of function as its PF (an endpoint even when the PF sits on a root bus)
      if (dev.physfn) return pcieTypeOf(dev.physfn.config) ?? R.PCI_EXP_TYPE_ENDPOINT;
      return dev.upstream ? R.PCI_EXP_TYPE_ENDPOINT : R.PCI_EXP_TYPE_RC_END;
  }
}

function writeBars(cfg: Buffer, dev: PciDev): void {
  // a VF's BARs read as zero: its memory is placed through the PF's SR-IOV capability
  if (dev.isVirtfn) return;
  for (const bar of dev.bars) {
    const off = R.PCI_BASE_ADDRESS_0 + bar.index * 4;
    let low = bar.start % 0x1_0000_0000;
    if (bar.is64) low |= R.PCI_BASE_ADDRESS_MEM_TYPE_64;
    if (bar.prefetch) low |= R.PCI_BASE_ADDRESS_MEM_PREFETCH;
    cfg.writeUInt32LE(low >>> 0, off);
    if (bar.is64) cfg.writeUInt32LE(Math.floor(bar.start / 0x1_0000_0000), off + 4);
  }
}

function writeBridgeHeader(cfg: Buffer, dev: PciDev): void {
  const [secondary, subordinate] = dev.busRange!;
  cfg[R.PCI_PRIMARY_BUS] = dev.bus;
  cfg[R.PCI_SECONDARY_BUS] = secondary;
  cfg[R.PCI_SUBORDINATE_BUS] = subordinate;
  // No I/O window: base above limit reads as disabled.
  cfg[R.PCI_IO_BASE] = 0xf0;
  cfg[R.PCI_IO_LIMIT] = 0x00;
  if (dev.memWindow) {
    const end = dev.memWindow.start + dev.memWindow.size - 1;
    cfg.writeUInt16LE((dev.memWindow.start >>> 16) & 0xfff0, R.PCI_MEMORY_BASE);
    cfg.writeUInt16LE((end >>> 16) & 0xfff0, R.PCI_MEMORY_LIMIT);
  } else {
    cfg.writeUInt16LE(0xfff0, R.PCI_MEMORY_BASE);
    cfg.writeUInt16LE(0x0000, R.PCI_MEMORY_LIMIT);
  }
  // Prefetchable window, 64-bit capable (low nibble 1).
  if (dev.prefWindow) {
    const start = dev.prefWindow.start;
    const end = start + dev.prefWindow.size - 1;
    cfg.writeUInt16LE(((start % 0x1_0000_0000) >>> 16) & 0xfff0 | 1, R.PCI_PREF_MEMORY_BASE);
    cfg.writeUInt16LE(((end % 0x1_0000_0000) >>> 16) & 0xfff0 | 1, R.PCI_PREF_MEMORY_LIMIT);
    cfg.writeUInt32LE(Math.floor(start / 0x1_0000_0000), R.PCI_PREF_BASE_UPPER32);
    cfg.writeUInt32LE(Math.floor(end / 0x1_0000_0000), R.PCI_PREF_LIMIT_UPPER32);
  } else {
    cfg.writeUInt16LE(0xfff1, R.PCI_PREF_MEMORY_BASE);
    cfg.writeUInt16LE(0x0001, R.PCI_PREF_MEMORY_LIMIT);
  }
}

function writeMsiCap(cfg: Buffer, next: number): void {
  cfg[MSI_CAP] = R.PCI_CAP_ID_MSI;
  cfg[MSI_CAP + 1] = next;
  // 64-bit address, one message capable (MMC 0); the enable bit follows the driver
  cfg.writeUInt16LE(R.PCI_MSI_FLAGS_64BIT, MSI_CAP + R.PCI_MSI_FLAGS);
}

function writeMsixCap(cfg: Buffer, tableSize: number): void {
  cfg[MSIX_CAP] = R.PCI_CAP_ID_MSIX;
  cfg[MSIX_CAP + 1] = 0;
  cfg.writeUInt16LE(tableSize - 1, MSIX_CAP + R.PCI_MSIX_FLAGS);
  cfg.writeUInt32LE(MSIX_TABLE.table | MSIX_TABLE.bar, MSIX_CAP + R.PCI_MSIX_TABLE);
  cfg.writeUInt32LE(MSIX_TABLE.pba | MSIX_TABLE.bar, MSIX_CAP + R.PCI_MSIX_PBA);
}

/** The MSI or MSI-X control register shows whether a driver enabled the vectors (pci_msi_set_enable, pci_msix_clear_and_set_ctrl). */
export function syncMsiEnable(dev: PciDev): void {
  if (!dev.msi || dev.config.length === 0) return;
  const on = dev.msi.irqs.length > 0;
  const cap = findCapability(dev.config, dev.msi.kind === 'msi' ? R.PCI_CAP_ID_MSI : R.PCI_CAP_ID_MSIX);
  if (!cap) return;
  const [off, bit] = dev.msi.kind === 'msi' ? [cap + R.PCI_MSI_FLAGS, R.PCI_MSI_FLAGS_ENABLE] : [cap + R.PCI_MSIX_FLAGS, R.PCI_MSIX_FLAGS_ENABLE];
  const v = dev.config.readUInt16LE(off);
  dev.config.writeUInt16LE(on ? v | bit : v & ~bit, off);
  // with MSI or MSI-X on, the driver core masks INTx (pci_intx_for_msi)
  const cmd = dev.config.readUInt16LE(R.PCI_COMMAND);
  dev.config.writeUInt16LE(on ? cmd | R.PCI_COMMAND_INTX_DISABLE : cmd & ~R.PCI_COMMAND_INTX_DISABLE, R.PCI_COMMAND);
}

function writePmCap(cfg: Buffer, next: number): void {
  cfg[PM_CAP] = R.PCI_CAP_ID_PM;
  cfg[PM_CAP + 1] = next;
  cfg.writeUInt16LE(0x0003, PM_CAP + 2); // PM spec version 1.2
  cfg.writeUInt16LE(0x0008, PM_CAP + 4); // D0, No_Soft_Reset
}

function writeExpCap(cfg: Buffer, dev: PciDev): void {
  const c = EXP_CAP;
  const type = pcieType(dev);
  cfg[c] = R.PCI_CAP_ID_EXP;
  // capability version 2; a port above a physical slot says Slot Implemented
  cfg.writeUInt16LE(0x0002 | (type << 4) | (hasSlot(dev) ? R.PCI_EXP_FLAGS_SLOT : 0), c + R.PCI_EXP_FLAGS);
  cfg[c + 1] = dev.msi?.kind === 'msix' ? MSIX_CAP : 0;
  cfg.writeUInt32LE(0x00008001, c + R.PCI_EXP_DEVCAP); // 256-byte max payload, role-based error reporting
  cfg.writeUInt16LE(0x2810, c + R.PCI_EXP_DEVCTL); // relaxed ordering, no snoop, 512-byte max read request
  const link = dev.link ?? { speed: 8, width: 1 };
  const max = dev.maxLink ?? link;
  const code = linkSpeedCode(link.speed);
  const maxCode = linkSpeedCode(max.speed);
  const isDownstreamFacing = type === R.PCI_EXP_TYPE_ROOT_PORT || type === R.PCI_EXP_TYPE_DOWNSTREAM;
  let lnkcap = maxCode | (max.width << 4);
  if (isDownstreamFacing) lnkcap |= R.PCI_EXP_LNKCAP_DLLLARC;
  lnkcap |= (dev.slot & 0xff) << 24; // port number
  cfg.writeUInt32LE(lnkcap >>> 0, c + R.PCI_EXP_LNKCAP);
  cfg.writeUInt16LE(0x0040, c + R.PCI_EXP_LNKCTL); // common clock
  let lnksta = code | (link.width << 4) | R.PCI_EXP_LNKSTA_SLC;
  if (isDownstreamFacing) lnksta |= R.PCI_EXP_LNKSTA_DLLLA;
  cfg.writeUInt16LE(lnksta, c + R.PCI_EXP_LNKSTA);
  let speeds = 0;
  for (let s = 1; s <= maxCode; s++) speeds |= 1 << s;
  cfg.writeUInt32LE(speeds, c + R.PCI_EXP_LNKCAP2);
  cfg.writeUInt16LE(maxCode, c + R.PCI_EXP_LNKCTL2);
  const slot = slotNumberBelow(dev);
  if (slot !== undefined) {
    // Physical Slot Number in bits 31:19; presence detected when something sits in the slot
    cfg.writeUInt32LE((slot << 19) >>> 0, c + R.PCI_EXP_SLTCAP);
    if (dev.children.length > 0) cfg.writeUInt16LE(R.PCI_EXP_SLTSTA_PDS, c + R.PCI_EXP_SLTSTA);
  }
}

/** The physical slot a downstream-facing port leads to (its children carry the number). */
function slotNumberBelow(dev: PciDev): number | undefined {
  return dev.isBridge && dev.role !== 'switch_upstream' ? dev.children.find((c) => c.physicalSlot !== undefined)?.physicalSlot : undefined;
}

function hasSlot(dev: PciDev): boolean {
  return slotNumberBelow(dev) !== undefined;
}

const ACS_SIZEOF = 8;

function writeAcsCap(cfg: Buffer, at: number, ctrl: number): void {
  cfg.writeUInt16LE(ACS_CAP_PORT | (ctrl & R.PCI_ACS_EC), at + R.PCI_ACS_CAP);
  cfg.writeUInt16LE(ctrl, at + R.PCI_ACS_CTRL);
}

/** Extended capabilities from 0x100, each header naming the next (version 1). */
function writeExtCaps(cfg: Buffer, caps: { id: number; size: number; write: (at: number) => void }[]): void {
  let at = EXT_CAP;
  caps.forEach((cap, i) => {
    const next = i + 1 < caps.length ? at + cap.size : 0;
    cfg.writeUInt32LE((cap.id | (1 << 16) | (next << 20)) >>> 0, at);
    cap.write(at);
    at = next;
  });
}

// kernel: pci_acs_init(), drivers/pci/pci.c: the offset is found once and cached in pdev->acs_cap
/** Offset of the ACS extended capability, if the function has one. */
export function acsCapOffset(dev: PciDev): number | undefined {
  return dev.acsCap || undefined;
}

export function buildConfigSpace(dev: PciDev, multifunction: boolean): Buffer {
  const cfg = Buffer.alloc(dev.cfgSize);
  // a VF answers 0xffff for its IDs: the kernel takes them from the PF (pci_iov_add_virtfn)
  cfg.writeUInt16LE(dev.isVirtfn ? 0xffff : dev.ids.vendor, R.PCI_VENDOR_ID);
  cfg.writeUInt16LE(dev.isVirtfn ? 0xffff : dev.ids.device, R.PCI_DEVICE_ID);
  let command = 0;
  // a VF's Memory Space bit is hardwired to 0 (no_command_memory): the PF's MSE enables its BARs
  if ((dev.bars.length > 0 || dev.isBridge) && !dev.isVirtfn) command |= R.PCI_COMMAND_MEMORY;
  if (dev.driver) command |= R.PCI_COMMAND_MASTER | R.PCI_COMMAND_INTX_DISABLE;
  cfg.writeUInt16LE(command, R.PCI_COMMAND);
  cfg.writeUInt16LE(dev.isPcie ? R.PCI_STATUS_CAP_LIST : 0, R.PCI_STATUS);
  cfg[R.PCI_REVISION_ID] = dev.ids.revision;
  cfg[R.PCI_CLASS_PROG] = dev.ids.classCode & 0xff;
  cfg.writeUInt16LE(dev.ids.classCode >>> 8, R.PCI_CLASS_PROG + 1);
  cfg[R.PCI_CACHE_LINE_SIZE] = 0x10; // 64 bytes, in dwords
  const header = dev.isBridge ? R.PCI_HEADER_TYPE_BRIDGE : R.PCI_HEADER_TYPE_NORMAL;
  cfg[R.PCI_HEADER_TYPE] = header | (multifunction ? R.PCI_HEADER_TYPE_MFD : 0);
  if (dev.isBridge) {
    writeBridgeHeader(cfg, dev);
  } else {
    writeBars(cfg, dev);
    cfg.writeUInt16LE(dev.ids.subsystemVendor, R.PCI_SUBSYSTEM_VENDOR_ID);
    cfg.writeUInt16LE(dev.ids.subsystemDevice, R.PCI_SUBSYSTEM_ID);
  }
  cfg[R.PCI_INTERRUPT_LINE] = dev.irq & 0xff;
  cfg[R.PCI_INTERRUPT_PIN] = dev.intxPin;
  if (dev.isPcie) {
    cfg[R.PCI_CAPABILITY_LIST] = PM_CAP;
    writePmCap(cfg, dev.msi?.kind === 'msi' ? MSI_CAP : EXP_CAP);
    if (dev.msi?.kind === 'msi') writeMsiCap(cfg, EXP_CAP);
    writeExpCap(cfg, dev);
    if (dev.msi?.kind === 'msix') writeMsixCap(cfg, dev.msi.capable);
    const ext: { id: number; size: number; write: (at: number) => void }[] = [];
    const acs = dev.acsCtrl;
    if (acs !== undefined) ext.push({ id: R.PCI_EXT_CAP_ID_ACS, size: ACS_SIZEOF, write: (at) => writeAcsCap(cfg, at, acs) });
    const sriov = dev.endpoint?.sriov?.cap;
    if (sriov && !dev.isVirtfn) ext.push({ id: R.PCI_EXT_CAP_ID_SRIOV, size: R.PCI_EXT_CAP_SRIOV_SIZEOF, write: (at) => writeSriovCap(cfg, at, sriov, dev) });
    if (cfg.length > EXT_CAP) writeExtCaps(cfg, ext);
  }
  return cfg;
}

/** Config bytes in place: the ACS offset cached as the kernel caches it. */
export function setConfig(dev: PciDev, cfg: Buffer): void {
  dev.config = cfg;
  dev.acsCap = findExtCapability(cfg, R.PCI_EXT_CAP_ID_ACS);
}

/** Reads the ACS Control register back from config space (what pci_bridge_has_acs_redir reads). */
export function readAcsCtrl(dev: PciDev): number | undefined {
  const off = acsCapOffset(dev);
  if (off === undefined || dev.config.length < off + R.PCI_ACS_CTRL + 2) return undefined;
  return dev.config.readUInt16LE(off + R.PCI_ACS_CTRL);
}
