// The units a CMB can be described in: CMBSZ.SZ and CMBLOC.OFST are 20-bit
// counts of one size unit (CMBSZ.SZU: 4 KiB × 16^n, n = 0..6). The topology
// parser refuses what no unit fits; the NVMe model encodes the registers.

export const CMB_UNIT_MIN = 4096;
const SZU_MAX = 6;
const COUNT_MAX = 0xfffff;

/** The smallest SZU in which both size and offset are whole counts that fit 20 bits; undefined when none does. */
export function cmbSzuFor(size: number, offset: number): number | undefined {
  for (let szu = 0; szu <= SZU_MAX; szu++) {
    const unit = CMB_UNIT_MIN * 16 ** szu;
    if (size % unit !== 0 || offset % unit !== 0) continue;
    if (size / unit <= COUNT_MAX && offset / unit <= COUNT_MAX) return szu;
  }
  return undefined;
}
