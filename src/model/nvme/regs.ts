// NVMe controller registers the driver reads (include/linux/nvme.h; NVMe spec),
// kernel-facts §5.1.

import { cmbSzuFor } from '../../config/index.js';

export const NVME_REG_CAP = 0x00;
export const NVME_REG_VS = 0x08;
export const NVME_REG_CMBLOC = 0x38;
export const NVME_REG_CMBSZ = 0x3c;
export const NVME_REG_CMBMSC = 0x50;

export const NVME_CAP_CMBS_BIT = 57;
export const NVME_CMBMSC_CRE = 1;
export const NVME_CMBMSC_CMSE = 2;

export const CMBSZ_FLAG_BITS: Record<string, number> = { SQS: 1 << 0, CQS: 1 << 1, LISTS: 1 << 2, RDS: 1 << 3, WDS: 1 << 4 };
export const NVME_CMBSZ_SQS = 1 << 0;
export const NVME_CMBSZ_RDS = 1 << 3;
export const NVME_CMBSZ_WDS = 1 << 4;

// kernel: nvme_cmb_size_unit(), drivers/nvme/host/pci.c
export function cmbSizeUnit(cmbsz: number): number {
  const szu = (cmbsz >>> 8) & 0xf;
  return 2 ** (12 + 4 * szu);
}

// kernel: nvme_cmb_size()
export function cmbSize(cmbsz: number): number {
  return (cmbsz >>> 12) & 0xfffff;
}

/**
 * CMBSZ and CMBLOC for a CMB of `size` bytes at `offset` in BAR `bar`: the
 * smallest size unit that expresses both in the 20-bit fields (the topology
 * parser has refused CMBs no unit fits).
 */
export function encodeCmb(size: number, offset: number, bar: number, flags: string[]): { cmbsz: number; cmbloc: number } {
  const szu = cmbSzuFor(size, offset);
  if (szu === undefined) throw new Error(`a CMB of ${size} bytes at ${offset} cannot be expressed in CMBSZ/CMBLOC units`);
  const unit = 2 ** (12 + 4 * szu);
  const f = flags.reduce((v, name) => v | (CMBSZ_FLAG_BITS[name] ?? 0), 0);
  return { cmbsz: (((size / unit) << 12) | (szu << 8) | f) >>> 0, cmbloc: (((offset / unit) << 12) | bar) >>> 0 };
}
