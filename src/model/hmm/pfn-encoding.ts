// How hmm_range_fault() writes a device-private page into its output array,
// and what a caller can tell from the value alone (native-notes/hmm.md "The
// review's concern").
//   pfn        mainline: the fake PFN of the page's struct page. By value it looks
//              like any other PFN; only a look at the struct page
//              (is_device_private_page) tells the caller it must not DMA-map it.
//   flag-bits  the reviewers' alternative (linux-mm, 2025-08: a HMM_PFN flag saying
//              "this is a device index", suggested by Christoph Hellwig and agreed by
//              Jason Gunthorpe and Alistair Popple): the entry is an index into the
//              owner's pgmap with a flag bit set; the value alone says what it is.

import type { DevicePrivateMemory } from './device-private.js';
import type { PfnKind } from './hmm.js';

export const PFN_ENCODINGS = ['pfn', 'flag-bits'] as const;
export type PfnEncoding = (typeof PFN_ENCODINGS)[number];

// unverified: see native-notes/hmm.md (the proposals' bits collide; this model writes no order bits)
export const HMM_PFN_DEVICE_PRIVATE = 1n << 56n;
const VALID = 1n << 63n;
const PFN_MASK = (1n << 53n) - 1n;

export function encodeDevicePrivate(owner: DevicePrivateMemory, index: number, enc: PfnEncoding): bigint {
  return enc === 'pfn' ? BigInt(owner.pfnBase + index) : HMM_PFN_DEVICE_PRIVATE | BigInt(index);
}

/** What the caller of hmm_range_fault() learns from one output value, without touching a struct page. */
export function readByValue(pfn: bigint, enc: PfnEncoding): string {
  if (!(pfn & VALID)) return 'not valid: nothing to map';
  const n = pfn & PFN_MASK;
  if (enc === 'flag-bits') return pfn & HMM_PFN_DEVICE_PRIVATE ? `device index ${n} in the caller's own memory: never DMA-map` : `PFN 0x${n.toString(16)}: DMA-able`;
  return `PFN 0x${n.toString(16)}: DMA-able or fake? only its struct page says`;
}

/** The mix the review objected to: fake device-private PFNs beside DMA-able P2P alias PFNs in one array. */
export function mixesFakeAndAlias(kinds: PfnKind[]): boolean {
  return kinds.includes('device-private') && kinds.includes('p2p-alias');
}
