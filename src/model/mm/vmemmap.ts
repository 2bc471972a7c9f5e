// struct-page memory of a pgmap. The vmemmap is populated when the memory is
// registered (memremap_pages → __populate_section_memmap), from the pgmap's
// fixed compound order (vmemmap_shift): only a pgmap built of compound pages
// gets the de-duplicated layout. A folio size chosen later, per mmap, changes
// nothing here (native-notes/compound-pages.md "Struct-page memory").

import { PAGE_SIZE } from './folio.js';

/** sizeof(struct page) on x86_64 */
export const STRUCT_PAGE_SIZE = 64;
/** vmemmap pages backed per compound page when the layout is optimized (include/linux/mm.h) */
export const VMEMMAP_RESERVE_NR = 2;

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

// kernel: vmemmap_can_optimize(), include/linux/mm.h (CONFIG_ARCH_WANT_OPTIMIZE_DAX_VMEMMAP)
/**
 * True when registering a pgmap of 2^vmemmapShift-page compound pages backs
 * only VMEMMAP_RESERVE_NR vmemmap pages per compound page: no altmap, a
 * power-of-two struct page, and more than VMEMMAP_RESERVE_NR vmemmap pages per
 * compound page (so 2 MiB and 1 GiB folios qualify, plain pages never do).
 */
export function vmemmapCanOptimize(vmemmapShift: number, altmap = false): boolean {
  if (altmap || !isPowerOfTwo(STRUCT_PAGE_SIZE)) return false;
  const vmemmapPagesPerCompound = (2 ** vmemmapShift * STRUCT_PAGE_SIZE) / PAGE_SIZE;
  return vmemmapPagesPerCompound > VMEMMAP_RESERVE_NR;
}

export interface StructPageMemory {
  /** what the struct pages would take with every vmemmap page backed */
  plain: number;
  /** what registration actually backs */
  backed: number;
  /** vmemmap_populate_compound_pages() was used */
  optimized: boolean;
}

// kernel: __populate_section_memmap() → vmemmap_populate_compound_pages(), mm/sparse-vmemmap.c
/** struct-page memory backed when `bytes` of device memory are registered with this vmemmap_shift. */
export function pgmapStructPages(bytes: number, vmemmapShift: number, altmap = false): StructPageMemory {
  const plain = (bytes / PAGE_SIZE) * STRUCT_PAGE_SIZE;
  if (!vmemmapCanOptimize(vmemmapShift, altmap)) return { plain, backed: plain, optimized: false };
  const compoundPages = bytes / (PAGE_SIZE * 2 ** vmemmapShift);
  return { plain, backed: compoundPages * VMEMMAP_RESERVE_NR * PAGE_SIZE, optimized: true };
}
