// What GUP (get_user_pages / pin_user_pages, the O_DIRECT path's
// iov_iter_extract_pages) does with a VMA that has no struct pages behind it.

import { kernelError } from '../../errno.js';

/** The VMA flags GUP looks at first. */
export interface VmaFlags {
  /** VM_PFNMAP | VM_IO: raw PFNs inserted with remap_pfn_range()/vmf_insert_pfn() (an MMIO dma-buf's mmap) */
  pfnmap: boolean;
  /** what the mapping is, for the message */
  what: string;
}

// kernel: check_vma_flags(), mm/gup.c
/** Why GUP refuses a VMA (EFAULT, which O_DIRECT returns as is), or undefined: VM_IO/VM_PFNMAP is refused before any page is looked at. */
export function vmaFlagsRefusal(vma: VmaFlags): string | undefined {
  return vma.pfnmap ? `${vma.what} is a VM_PFNMAP|VM_IO mapping: GUP has no struct page to pin` : undefined;
}

/** check_vma_flags() as a throw: EFAULT for a PFN map. */
export function checkVmaFlags(vma: VmaFlags): void {
  const refusal = vmaFlagsRefusal(vma);
  if (refusal) throw kernelError('EFAULT', refusal);
}
