// The one place where an I/O on a namespace meets the kernel's P2P rules:
// the user memory it moves (an O_DIRECT read/write, found from the caller's
// syscall; or the buffer of an NVMe passthrough command) is split by the
// P2P mappings it touches and each piece is classified (model/nvme/io.ts).

import { checkVmaFlags, type VmaFlags } from '../../model/mm/gup.js';
import type { NvmeNamespace, TransferStats } from '../../model/nvme/index.js';
import { classifyP2p, type IoPath } from '../../model/nvme/index.js';
import type { P2pdmaProvider, P2pdmaSubsystem } from '../../model/p2pdma/index.js';
import type { PciDev } from '../../model/pci/index.js';
import { callerMemory } from '../../caller-memory/index.js';
import type { Caller } from '../caller.js';
import type { AllocateFile, P2pmemContext } from '../sysfs/p2pmem-group.js';
import { p2pMappingsOf, splitByProvider, type P2pMapping, type P2pPiece, type UserRange } from './direct-io.js';

export interface P2pDecisionContext {
  p2pdma: P2pdmaSubsystem;
  stats: TransferStats;
  p2p: P2pmemContext;
  /** every open allocate file, per provider */
  openAllocations: Map<P2pdmaProvider, Set<AllocateFile>>;
  /** P2P mappings per process, valid while the generation of sized allocations is unchanged */
  mappingCache?: Map<number, { generation: number; maps: P2pMapping<MappedMemory>[] }>;
}

/** What a mapping of the mount holds: a provider's P2P pages, or a PFN map GUP refuses (an exported dma-buf). */
type MappedMemory = PciDev | VmaFlags;
const isPfnMap = (m: MappedMemory | undefined): m is VmaFlags => m !== undefined && 'pfnmap' in m;

export interface DecidedPiece extends P2pPiece<PciDev> {
  path: IoPath;
}

/** The caller's P2P mappings, from /proc/TID/maps once per process and allocation change. */
function p2pMappingsCached(ctx: P2pDecisionContext, tid: number, dev: string): P2pMapping<MappedMemory>[] {
  const cache = (ctx.mappingCache ??= new Map());
  const pid = callerMemory.tgid(tid);
  const hit = cache.get(pid);
  if (hit && hit.generation === ctx.p2p.sizedGeneration) return hit.maps;
  const providers = new Map<number, MappedMemory>([...ctx.p2p.sized].map(([ino, f]) => [ino, f.provider.dev]));
  for (const [ino, what] of ctx.p2p.pfnMaps) providers.set(ino, { pfnmap: true, what });
  const maps = p2pMappingsOf(tid, dev, providers);
  if (cache.size > 1024) cache.clear();
  cache.set(pid, { generation: ctx.p2p.sizedGeneration, maps });
  return maps;
}

/**
 * Allocations the caller mapped but never touched get their memory now, as
 * the kernel's mmap() already gave it: O_DIRECT faults its buffer in before
 * the request reaches us, a passthrough command does not.
 */
export function sizeMappedAllocations(ctx: P2pDecisionContext, caller: Caller): void {
  const dev = ctx.p2p.mountDev();
  if (!dev) return;
  for (const files of ctx.openAllocations.values()) {
    for (const f of files) if (!f.alloc && callerMemory.fileMappings(caller.pid, dev, f.ino).length > 0) f.sizeFor(caller);
  }
}

// kernel: the P2P checks of the direct I/O path: GUP with FOLL_PCI_P2PDMA, then pci_p2pdma_state() per pgmap
/**
 * The pieces of an I/O on `ns` that moves the user memory `ranges` (undefined:
 * not visible, treated as host memory), each with the path the kernel gives
 * it; throws EREMOTEIO (counted as refused) where the kernel fails the I/O.
 */
export function decideP2p(ctx: P2pDecisionContext, ns: NvmeNamespace, caller: Caller, ranges: UserRange[] | undefined, len: number, write: boolean): DecidedPiece[] {
  const dev = ctx.p2p.mountDev();
  const pieces = ranges && dev ? splitByProvider(ranges, p2pMappingsCached(ctx, caller.pid, dev)) : [{ addr: 0, len, provider: undefined, mapping: undefined }];
  return pieces.map((p) => {
    // GUP looks at the VMA first: a PFN map is refused before any P2P rule
    if (isPfnMap(p.provider)) checkVmaFlags(p.provider);
    const piece = p as P2pPiece<PciDev>;
    try {
      return { ...piece, path: classifyP2p(ns, piece.provider, ctx.p2pdma) };
    } catch (err) {
      ctx.stats.add(ns.ctrl.dev, piece.provider, 'refused', write, 0);
      throw err;
    }
  });
}

/** Counts each piece of a completed I/O per (client, provider, path). */
export function countPieces(ctx: P2pDecisionContext, ns: NvmeNamespace, pieces: DecidedPiece[], write: boolean): void {
  for (const p of pieces) ctx.stats.add(ns.ctrl.dev, p.provider, p.path, write, p.len);
}
