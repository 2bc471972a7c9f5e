// hmm_range_fault() (mm/hmm.c, kernel-facts §7.2–§7.3), the dmirror test
// driver's migrations (lib/test_hmm.c, §7.5), and the proposed P2P alias for
// device-private pages (HMM_PFN_ALLOW_P2P + get_dma_pfn_for_device, §7.4, not
// mainline).

import { kernelError } from '../../errno.js';
import { MapType, type P2pdmaSubsystem } from '../p2pdma/index.js';
import type { PciDev } from '../pci/index.js';
import { AddressSpace, PageState } from './address-space.js';
import type { DevicePrivateMemory } from './device-private.js';

// include/linux/hmm.h, 64-bit
export const HMM_PFN_VALID = 1n << 63n;
export const HMM_PFN_WRITE = 1n << 62n;
export const HMM_PFN_ERROR = 1n << 61n;
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
  /** the device the result is for (P2P alias decisions are about it) */
  client: PciDev;
}

export interface HmmRangeResult {
  pfns: bigint[];
  kinds: PfnKind[];
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
  /** physical RAM page numbers handed out for migrated-back pages */
  nextRamPfn: { value: number };
}

// kernel: migrate_to_ram() of a device-private pgmap (dmirror_devmem_fault in test_hmm)
function migrateToRam(as: AddressSpace, i: number, ctx: HmmContext): void {
  ctx.owners.get(as.owner[i]!)?.give(1);
  as.state[i] = PageState.RAM;
  as.owner[i] = -1;
}

/**
 * The proposal's get_dma_pfn_for_device(): the owner offers a PCI P2PDMA page of
 * its BAR that aliases the private page, if the client can reach that BAR.
 */
function p2pAlias(owner: DevicePrivateMemory, client: PciDev, index: number, ctx: HmmContext): bigint | undefined {
  const provider = ctx.p2pdma.providerOf(owner.owner);
  if (!provider) return undefined;
  if (ctx.p2pdma.mapType(owner.owner, client) === MapType.NOT_SUPPORTED) return undefined;
  const base = provider.pool.chunks[provider.pool.chunks.length - 1]!.start;
  return BigInt(Math.floor(base / 4096) + (index % Math.floor(provider.pool.size / 4096)));
}

// kernel: hmm_range_fault() / hmm_vma_handle_pte(), mm/hmm.c
export function hmmRangeFault(as: AddressSpace, req: HmmRangeRequest, ctx: HmmContext): HmmRangeResult {
  const out: HmmRangeResult = { pfns: [], kinds: [], migratedToRam: 0, p2pAliased: 0, faulted: 0 };
  const wantFault = (req.defaultFlags & HMM_PFN_REQ_FAULT) !== 0n;
  const wantWrite = (req.defaultFlags & HMM_PFN_REQ_WRITE) !== 0n;
  const allowP2p = ctx.allowP2pProposal && (req.defaultFlags & HMM_PFN_ALLOW_P2P) !== 0n;
  for (let i = req.first; i < req.first + req.count; i++) {
    const prot = as.protOf(i);
    // no VMA: hmm_range_fault() fails the whole range
    if (prot === undefined) throw kernelError('EFAULT', `no mapping at page ${i}`);
    const writable = prot === 'write';
    let state = as.state[i]!;
    // a foreign owner's private page: the proposal may alias it, else the CPU fault migrates it
    if (state === PageState.DEVICE_PRIVATE && as.owner[i] !== req.devPrivateOwner) {
      const owner = ctx.owners.get(as.owner[i]!);
      const alias = allowP2p && owner ? p2pAlias(owner, req.client, i, ctx) : undefined;
      if (alias !== undefined) {
        out.pfns.push(alias | HMM_PFN_VALID | (writable ? HMM_PFN_WRITE : 0n));
        out.kinds.push('p2p-alias');
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
      out.pfns.push(BigInt(owner.pfnBase + i) | HMM_PFN_VALID | (writable ? HMM_PFN_WRITE : 0n));
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

/** Where device-private (fake) PFNs and DMA-able PFNs sit side by side in one result array. */
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
export function snapshot(as: AddressSpace, first: number, count: number, mirrorOwner: number, ctx: HmmContext, client: PciDev): Uint8Array {
  const r = hmmRangeFault(as, { first, count, defaultFlags: 0n, devPrivateOwner: mirrorOwner, client }, ctx);
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
