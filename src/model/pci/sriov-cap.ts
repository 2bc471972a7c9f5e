// The SR-IOV extended capability: written for a PF whose config space the
// model generates, and read (for any PF) to know where its VFs would land.

import type { SriovCapSpec } from '../../config/index.js';
import { cfgWord, findExtCapability } from './config-read.js';
import type { PciDev, PciResource } from './pci-dev.js';
import * as R from './regs.js';

/** Supported page sizes advertised: 4K, 8K, 64K, 256K, 1M, 4M (a common real value) */
const SUPPORTED_PAGE_SIZES = 0x553;

/** Writes the capability body at `at` (the header is written by the caller). */
export function writeSriovCap(cfg: Buffer, at: number, cap: SriovCapSpec, dev: PciDev): void {
  cfg.writeUInt16LE(cap.totalVfs, at + R.PCI_SRIOV_INITIAL_VF);
  cfg.writeUInt16LE(cap.totalVfs, at + R.PCI_SRIOV_TOTAL_VF);
  cfg[at + R.PCI_SRIOV_FUNC_LINK] = dev.fn;
  cfg.writeUInt16LE(cap.offset, at + R.PCI_SRIOV_VF_OFFSET);
  cfg.writeUInt16LE(cap.stride, at + R.PCI_SRIOV_VF_STRIDE);
  cfg.writeUInt16LE(cap.vfDevice, at + R.PCI_SRIOV_VF_DID);
  cfg.writeUInt32LE(SUPPORTED_PAGE_SIZES, at + R.PCI_SRIOV_SUP_PGSIZE);
  cfg.writeUInt32LE(1, at + R.PCI_SRIOV_SYS_PGSIZE);
  for (const bar of dev.iovBars) {
    const off = at + R.PCI_SRIOV_BAR + bar.index * 4;
    let low = bar.start % 0x1_0000_0000;
    if (bar.is64) low |= R.PCI_BASE_ADDRESS_MEM_TYPE_64;
    if (bar.prefetch) low |= R.PCI_BASE_ADDRESS_MEM_PREFETCH;
    cfg.writeUInt32LE(low >>> 0, off);
    if (bar.is64) cfg.writeUInt32LE(Math.floor(bar.start / 0x1_0000_0000), off + 4);
  }
}

/** The whole VF BAR regions of a PF whose capability is generated: one per VF BAR, TotalVFs times its size. */
export function iovBarsOf(cap: SriovCapSpec): PciResource[] {
  return cap.bars.map((b) => ({ index: b.index, start: 0, size: b.size * cap.totalVfs, is64: b.is64, prefetch: b.prefetch }));
}

// kernel: pci_iov_virtfn_bus(), drivers/pci/iov.c: the PF's bus plus the carry of devfn + offset + stride * id
export function virtfnBus(bus: number, devfn: number, offset: number, stride: number, id: number): number {
  return bus + ((devfn + offset + stride * id) >> 8);
}

// kernel: pci_iov_virtfn_devfn(), drivers/pci/iov.c
export function virtfnDevfn(devfn: number, offset: number, stride: number, id: number): number {
  return (devfn + offset + stride * id) & 0xff;
}

// kernel: compute_max_vf_buses(), drivers/pci/iov.c (offset and stride do not change with NumVFs here)
/** The highest bus any of a PF's VFs could need, from its config or its generated capability; undefined for a non-PF. */
export function maxVfBus(dev: PciDev, cfg: Buffer | undefined, cap: SriovCapSpec | undefined): number | undefined {
  let total: number, offset: number, stride: number;
  const pos = cfg ? findExtCapability(cfg, R.PCI_EXT_CAP_ID_SRIOV) : 0;
  if (cfg && pos) {
    total = cfgWord(cfg, pos + R.PCI_SRIOV_TOTAL_VF);
    offset = cfgWord(cfg, pos + R.PCI_SRIOV_VF_OFFSET);
    stride = cfgWord(cfg, pos + R.PCI_SRIOV_VF_STRIDE);
  } else if (cap) {
    ({ totalVfs: total, offset, stride } = cap);
  } else {
    return undefined;
  }
  if (total === 0 || offset === 0) return undefined;
  return virtfnBus(dev.bus, dev.devfn, offset, stride, total - 1);
}
