// hmm_range_fault() (mm/hmm.c, kernel-facts §7.2–§7.3), the dmirror test
// driver's migrations (lib/test_hmm.c, §7.5), and the proposed P2P alias for
// device-private pages (HMM_PFN_ALLOW_P2P + get_dma_pfn_for_device, §7.4, not
// mainline). The alias is chosen without the client in view: whether the
// client reaches it is decided later, at hmm_dma_map_pfn() (hmm-dma.ts).

import { kernelError } from '../../errno.js';
import type { P2pdmaSubsystem } from '../p2pdma/index.js';
import { AddressSpace, PageState } from './address-space.js';
import type { DevicePrivateMemory } from './device-private.js';
import { encodeDevicePrivate, type PfnEncoding } from './pfn-encoding.js';

// include/linux/hmm.h, 64-bit
export const HMM_PFN_VALID = 1n << 63n;
export const HMM_PFN_WRITE = 1n << 62n;
export const HMM_PFN_ERROR = 1n << 61n;
/** ≈v6.16: sticky output flags of hmm_dma_map_pfn() */
export const HMM_PFN_DMA_MAPPED = 1n << 60n;
export const HMM_PFN_P2PDMA = 1n << 59n;
export const HMM_PFN_P2PDMA_BUS = 1n << 58n;
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;
/** the 2025 proposal's request flag (bit 57), not mainline */
export const HMM_PFN_ALLOW_P2P = 1n << 57n;
export const HMM_PFN_PFN_MASK = (1n << 53n) - 1n;

/** What each output PFN names, for the review's concern about mixing them in one array. */
export type PfnKind = 'none' | 'ram' | 'device-private' | 'p2p-alias' | 'error';

export interface HmmRangeRequest {
  first: number;
  count: number;
  /** applied to every page: HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_ALLOW_P2P */
  defaultFlags: bigint;
  /** dev_private_owner: device-private pages of this owner are reported, not migrated */
  devPrivateOwner: number;
  /** only these pages get defaultFlags' HMM_PFN_ALLOW_P2P (the per-pfn request of a retry); all when undefined */
  allowP2pAt?: (index: number) => boolean;
}

export interface HmmRangeResult {
  pfns: bigint[];
  kinds: PfnKind[];
  /** for a p2p-alias entry: the device-private memory whose owner offered it */
  aliasOf: (DevicePrivateMemory | undefined)[];
  /** pages migrate_to_ram() brought back to system RAM */
  migratedToRam: number;
  /** pages served through the P2P alias instead */
  p2pAliased: number;
  /** pages the CPU faulted in */
  faulted: number;
}

export interface HmmContext {
  p2pdma: P2pdmaSubsystem;
  /** device-private memories by owner id */
  owners: Map<number, DevicePrivateMemory>;
  /** the hmm-allow-p2p profile: the proposal's path exists at all */
  allowP2pProposal: boolean;
  /** how device-private entries are written out: mainline PFNs, or the reviewers' flag-bit alternative */
  pfnEncoding: PfnEncoding;
  /** physical RAM page numbers handed out for migrated-back pages */
  nextRamPfn: { value: number };
}

// kernel: migrate_to_ram() of a device-private pgmap (dmirror_devmem_fault in test_hmm)
function migrateToRam(as: AddressSpace, i: number, ctx: HmmContext): void {
  ctx.owners.get(as.owner[i]!)?.give(1);
  as.state[i] = PageState.RAM;
  as.owner[i] = -1;
}

// kernel: get_dma_pfn_for_device() (proposal, dev_pagemap_ops), here nouveau_dmem-like
/**
 * The owner offers a PCI P2PDMA page of its BAR that aliases the private page.
 * It is asked about the page only: no client. It fails only for reasons of its
 * own (it has no P2P memory), never because some device cannot reach it.
 */
function getDmaPfnForDevice(owner: DevicePrivateMemory, index: number, ctx: HmmContext): bigint | undefined {
  const provider = ctx.p2pdma.providerOf(owner.owner);
  if (!provider) return undefined;
  const base = provider.pool.chunks[provider.pool.chunks.length - 1]!.start;
  return BigInt(Math.floor(base / 4096) + (index % Math.floor(provider.pool.size / 4096)));
}

// kernel: hmm_range_fault() / hmm_vma_handle_pte(), mm/hmm.c
export function hmmRangeFault(as: AddressSpace, req: HmmRangeRequest, ctx: HmmContext): HmmRangeResult {
  const out: HmmRangeResult = { pfns: [], kinds: [], aliasOf: [], migratedToRam: 0, p2pAliased: 0, faulted: 0 };
  const wantFault = (req.defaultFlags & HMM_PFN_REQ_FAULT) !== 0n;
  const wantWrite = (req.defaultFlags & HMM_PFN_REQ_WRITE) !== 0n;
  const allowP2p = ctx.allowP2pProposal && (req.defaultFlags & HMM_PFN_ALLOW_P2P) !== 0n;
  for (let i = req.first; i < req.first + req.count; i++) {
    out.aliasOf.push(undefined);
    const prot = as.protOf(i);
    // no VMA: hmm_range_fault() fails the whole range
    if (prot === undefined) throw kernelError('EFAULT', `no mapping at page ${i}`);
    const writable = prot === 'write';
    let state = as.state[i]!;
    // a foreign owner's private page: the proposal lets the owner alias it (hmm_handle_device_private), else the CPU fault migrates it
    if (state === PageState.DEVICE_PRIVATE && as.owner[i] !== req.devPrivateOwner) {
      const owner = ctx.owners.get(as.owner[i]!);
      const alias = allowP2p && owner && (req.allowP2pAt?.(i) ?? true) ? getDmaPfnForDevice(owner, i, ctx) : undefined;
      if (alias !== undefined) {
        out.pfns.push(alias | HMM_PFN_VALID | (writable ? HMM_PFN_WRITE : 0n));
        out.kinds.push('p2p-alias');
        out.aliasOf[out.aliasOf.length - 1] = owner;
        out.p2pAliased++;
        continue;
      }
      if (!wantFault) {
        out.pfns.push(0n);
        out.kinds.push('none');
        continue;
      }
      migrateToRam(as, i, ctx);
      out.migratedToRam++;
      state = PageState.RAM;
    }
    if (state === PageState.DEVICE_PRIVATE) {
      // the caller's own device memory: reported as is, never faulted
      const owner = ctx.owners.get(as.owner[i]!)!;
      out.pfns.push(encodeDevicePrivate(owner, i, ctx.pfnEncoding) | HMM_PFN_VALID | (writable ? HMM_PFN_WRITE : 0n));
      out.kinds.push('device-private');
      continue;
    }
    if (state === PageState.SPECIAL) {
      if (wantFault) throw kernelError('EFAULT', `special PFN at page ${i}`);
      out.pfns.push(HMM_PFN_ERROR);
      out.kinds.push('error');
      continue;
    }
    if (prot === 'none') {
      // no access at all: a fault cannot succeed
      if (wantFault) throw kernelError('EFAULT', `page ${i} is PROT_NONE`);
      out.pfns.push(0n);
      out.kinds.push('none');
      continue;
    }
    if (wantWrite && !writable) throw kernelError('EPERM', `write fault on read-only page ${i}`);
    if (state === PageState.NONE || (state === PageState.ZERO && wantWrite)) {
      if (!wantFault) {
        out.pfns.push(0n);
        out.kinds.push('none');
        continue;
      }
      // handle_mm_fault(): a read fault maps the zero page, a write fault a fresh page
      as.state[i] = wantWrite ? PageState.RAM : PageState.ZERO;
      out.faulted++;
      state = as.state[i]!;
    }
    const pfn = state === PageState.ZERO ? 0n : BigInt(ctx.nextRamPfn.value++);
    // the zero page is never writable
    out.pfns.push(pfn | HMM_PFN_VALID | (writable && state !== PageState.ZERO ? HMM_PFN_WRITE : 0n));
    out.kinds.push('ram');
  }
  return out;
}

/** Runs of equal kinds in a result array, in order. */
export function mixedRuns(kinds: PfnKind[]): { first: number; count: number; kind: PfnKind }[] {
  const runs: { first: number; count: number; kind: PfnKind }[] = [];
  for (const [i, k] of kinds.entries()) {
    const last = runs[runs.length - 1];
    if (last && last.kind === k) last.count++;
    else runs.push({ first: i, count: 1, kind: k });
  }
  return runs;
}

// kernel: migrate_vma_setup/pages/finalize as dmirror_migrate_to_device() uses them
export function migrateToDevice(as: AddressSpace, first: number, count: number, mem: DevicePrivateMemory, ctx: HmmContext): number {
  let moved = 0;
  for (let i = first; i < first + count; i++) {
    // only present anonymous pages migrate; holes get populated as device pages too
    if (as.state[i] === PageState.SPECIAL) continue;
    if (as.state[i] === PageState.DEVICE_PRIVATE) {
      if (as.owner[i] === mem.id) continue;
      migrateToRam(as, i, ctx);
    }
    mem.take(1);
    as.state[i] = PageState.DEVICE_PRIVATE;
    as.owner[i] = mem.id;
    moved++;
  }
  return moved;
}

// kernel: dmirror_migrate_to_system()
export function migrateToSystem(as: AddressSpace, first: number, count: number, ctx: HmmContext): number {
  let moved = 0;
  for (let i = first; i < first + count; i++) {
    if (as.state[i] !== PageState.DEVICE_PRIVATE) continue;
    migrateToRam(as, i, ctx);
    moved++;
  }
  return moved;
}

// lib/test_hmm_uapi.h snapshot values
export const HMM_DMIRROR_PROT_ERROR = 0xff;
export const HMM_DMIRROR_PROT_NONE = 0x00;
export const HMM_DMIRROR_PROT_READ = 0x01;
export const HMM_DMIRROR_PROT_WRITE = 0x02;
export const HMM_DMIRROR_PROT_ZERO = 0x10;
export const HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL = 0x20;
export const HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE = 0x30;

// kernel: dmirror_snapshot() / dmirror_mkentry(), lib/test_hmm.c
/** One byte per page, without faulting anything in. */
export function snapshot(as: AddressSpace, first: number, count: number, mirrorOwner: number, ctx: HmmContext): Uint8Array {
  const r = hmmRangeFault(as, { first, count, defaultFlags: 0n, devPrivateOwner: mirrorOwner }, ctx);
  const out = new Uint8Array(count);
  for (let k = 0; k < count; k++) {
    const i = first + k;
    const pfn = r.pfns[k]!;
    if (pfn & HMM_PFN_ERROR) out[k] = HMM_DMIRROR_PROT_ERROR;
    else if (!(pfn & HMM_PFN_VALID)) {
      // not present, or another owner's private page (a snapshot faults nothing)
      out[k] = HMM_DMIRROR_PROT_NONE;
    } else {
      let v = 0;
      if (r.kinds[k] === 'device-private') v |= HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL;
      if (as.state[i] === PageState.ZERO) v |= HMM_DMIRROR_PROT_ZERO;
      v |= pfn & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
      out[k] = v;
    }
  }
  return out;
}
