// Whether a mapping of a BAR's resourceN file stays within the BAR, in pages.

const PAGE_SHIFT = 12;

// kernel: pci_mmap_fits(), drivers/pci/pci-sysfs.c (the sysfs form: offsets start at the BAR)
/** A mapping of `pages` pages from page `pgoff` of a BAR of `barLen` bytes fits; an empty BAR fits nothing. */
export function pciMmapFits(barLen: number, pgoff: number, pages: number): boolean {
  if (barLen === 0) return false;
  const size = Math.floor((barLen - 1) / 2 ** PAGE_SHIFT) + 1;
  return pgoff < size && pgoff + pages <= size;
}
