// /sys/bus/pci/devices/<BDF>/p2pmem/: size, available, published and the
// allocate file (kernel-facts §1.2–§1.4). Each open of allocate is its own
// node (fresh per lookup), allocated from the pool at mmap() under `p2pemu run`
// (the supervisor's mmap intent) or else at its first page fault, sized from
// /proc/TID/maps, and freed at RELEASE, after the last munmap.

import { kernelError, KernelError } from '../../errno.js';
import type { BarStore } from '../../memory/index.js';
import type { BarView, MappedRange } from '../../memory/index.js';
import { preadSync, pwriteSync } from '../../memory/index.js';
import type { P2pAllocation, P2pdmaProvider, P2pdmaSubsystem } from '../../model/index.js';
import { callerMemory, X86_64_READ_CALLS } from '../../caller-memory/index.js';
import type { Caller } from '../caller.js';
import { isSharedMapping, type MmapIntent } from '../mmap-intent.js';
import type { DeviceFile, DirNode, FileBacking } from '../node.js';
import type { InodeTable } from '../tree.js';
import type { Vfs } from '../vfs.js';
import type { P2pMappings } from '../p2p-mappings.js';

/** the size the kernel's bin attribute declares, so that tools checking mmap length against it do not refuse */
export const ALLOCATE_FILE_SIZE = 2 ** 40;
const PAGE = 4096;

export interface P2pmemContext {
  table: InodeTable;
  vfs: Vfs;
  p2pdma: P2pdmaSubsystem;
  bars: BarStore;
  barView: BarView;
  /** where O_DIRECT buffers may lie: allocations are entered here once sized */
  mappings: P2pMappings;
  onEvent?: (msg: string, fields: Record<string, unknown>) => void;
}

/** One open of allocate: unsized until its mmap (under run) or its first fault. */
export class AllocateFile implements DeviceFile {
  alloc: P2pAllocation | undefined;
  private failed: KernelError | undefined;
  private range: MappedRange | undefined;
  private placeAtFirstFault = false;

  constructor(
    private readonly ctx: P2pmemContext,
    readonly provider: P2pdmaProvider,
    readonly ino: number,
  ) {}

  private barSize(): number {
    return this.provider.dev.bars.find((b) => b.index === this.alloc!.bar)!.size;
  }

  /** Takes the allocation from the pool (the model logs and throws what the kernel refuses) and puts it on the data path. */
  private allocate(req: { len: number; pgoff: number; shared: boolean; va: number | undefined }, pid: number): P2pAllocation {
    const comm = callerMemory.comm(pid);
    try {
      this.alloc = this.ctx.p2pdma.allocMmap(this.provider.dev, { ...req, pid: callerMemory.tgid(pid), comm });
    } catch (err) {
      if (err instanceof KernelError) this.ctx.onEvent?.('allocate mmap refused', { provider: this.provider.dev.bdf, pid, comm, errno: err.code });
      throw err;
    }
    this.range = { ino: this.ino, bdf: this.provider.dev.bdf, bar: this.alloc.bar, barOffset: this.alloc.barOffset, size: this.alloc.size };
    this.ctx.barView.ranges.add(this.range);
    this.ctx.mappings.set(this.ino, { kind: 'p2p', alloc: this.alloc });
    return this.alloc;
  }

  // kernel: p2pmem_alloc_mmap(), drivers/pci/p2pdma.c [PCI-NEXT]
  /** Under `p2pemu run`, at mmap() itself: the kernel's checks and the allocation, before any touch. */
  mmap(intent: MmapIntent): void {
    // differs: a second mapping of the same open file shares the first one's allocation (native-notes/open-flags.md)
    if (this.alloc) return;
    this.allocate({ len: intent.len, pgoff: intent.pgoff, shared: isSharedMapping(intent), va: intent.addr }, intent.pid);
    // the kernel chose the address: where it landed is known at the first touch
    this.placeAtFirstFault = intent.addr === undefined;
  }

  // kernel: p2pmem_alloc_mmap(), drivers/pci/p2pdma.c [PCI-NEXT]
  // differs: outside `p2pemu run` FUSE sends nothing at mmap(); the mapping is found and the pool allocated at the first fault
  private sizeAtFirstFault(caller: Caller): P2pAllocation {
    if (this.failed) throw this.failed;
    const maps = this.mappingsOf(caller);
    if (maps.length === 0) {
      const sc = callerMemory.syscallNumber(caller.pid);
      // only mmap is implemented for allocate
      throw kernelError('EIO', sc !== undefined && X86_64_READ_CALLS.has(sc) ? 'allocate supports only mmap' : 'no mapping of this allocate file');
    }
    // one mapping per open is the normal case; with several, the largest decides
    const m = maps.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    try {
      return this.allocate({ len: m.end - m.start, pgoff: m.offset / PAGE, shared: m.perms[3] === 's', va: m.start }, caller.pid);
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      // the kernel would have failed mmap() itself; here the process gets SIGBUS at first touch
      this.failed = kernelError('EIO', `mmap of allocate refused (${err.code}): ${err.message}`);
      throw this.failed;
    }
  }

  private mappingsOf(caller: Caller) {
    const dev = this.ctx.vfs.port.device;
    return dev ? callerMemory.fileMappings(caller.pid, dev, this.ino) : [];
  }

  /** Sizes the allocation now from the caller's mapping (when something other than a fault needs its memory). */
  sizeFor(caller: Caller): void {
    if (this.alloc) return;
    try {
      this.sizeAtFirstFault(caller);
    } catch {
      // refused or not mapped: the caller's first touch will get SIGBUS, as before
    }
  }

  backing(): FileBacking | undefined {
    if (!this.alloc || this.alloc.revoked) return undefined;
    const b = this.ctx.bars.get(this.provider.dev.bdf, this.alloc.bar, this.barSize());
    return { id: b.id, fd: b.fd, offset: this.alloc.barOffset, size: this.alloc.size, writable: true };
  }

  read(offset: number, size: number, caller: Caller): Buffer {
    const a = this.alloc ?? this.sizeAtFirstFault(caller);
    if (this.placeAtFirstFault) {
      this.placeAtFirstFault = false;
      const m = this.mappingsOf(caller)[0];
      if (m) this.ctx.p2pdma.placeMapping(a, m.start);
    }
    // zapped by a removal: the next touch is a SIGBUS, as after kernfs removed the file
    if (a.revoked) throw kernelError('EIO', 'allocation was revoked');
    const n = Math.max(0, Math.min(size, a.size - offset));
    const out = Buffer.alloc(n);
    if (n > 0) preadSync(this.backing()!.fd, out, a.barOffset + offset);
    return out;
  }

  write(offset: number, data: Buffer): number {
    const a = this.alloc;
    if (!a || a.revoked) throw kernelError('EIO', 'allocation is gone');
    const n = Math.max(0, Math.min(data.length, a.size - offset));
    if (n > 0) pwriteSync(this.backing()!.fd, data.subarray(0, n), a.barOffset + offset);
    return n;
  }

  /** The removal path: no more data path, cached pages dropped; the pool range is freed by the model. */
  async revoke(): Promise<void> {
    this.ctx.vfs.revokeBacking(this);
    if (this.range) this.ctx.barView.ranges.delete(this.range);
    this.ctx.mappings.set(this.ino, undefined);
    await this.ctx.vfs.port.invalidateInode(this.ino).catch(() => undefined);
  }

  release(): void {
    if (this.range) this.ctx.barView.ranges.delete(this.range);
    if (this.alloc) this.ctx.mappings.set(this.ino, undefined);
    if (this.alloc && !this.alloc.revoked) this.ctx.p2pdma.freeMmap(this.alloc);
  }
}

/** The allocate files open per provider, for revocation on removal. */
export type OpenAllocations = Map<P2pdmaProvider, Set<AllocateFile>>;

/**
 * Allocations the caller mapped but never touched get their memory now, as
 * the kernel's mmap() already gave it: O_DIRECT faults its buffer in before
 * the request reaches us, an NVMe passthrough command does not.
 */
export function sizeMappedAllocations(ctx: P2pmemContext, open: OpenAllocations, caller: Caller): void {
  const dev = ctx.vfs.port.device;
  if (!dev) return;
  for (const files of open.values()) {
    for (const f of files) if (!f.alloc && callerMemory.fileMappings(caller.pid, dev, f.ino).length > 0) f.sizeFor(caller);
  }
}

/** An allocate-like device node: each open is its own allocation from the provider (sized at first fault). */
export function allocationNode(ctx: P2pmemContext, provider: P2pdmaProvider, files: Set<AllocateFile>): (caller: Caller, ino: number) => AllocateFile {
  return (_caller, ino) => {
    const f = new AllocateFile(ctx, provider, ino);
    files.add(f);
    const release = f.release.bind(f);
    f.release = () => {
      files.delete(f);
      release();
    };
    return f;
  };
}

export function addP2pmemGroup(ctx: P2pmemContext, deviceDir: DirNode, provider: P2pdmaProvider, open: OpenAllocations): DirNode {
  const t = ctx.table;
  const dir = t.dir(deviceDir, 'p2pmem');
  t.text(dir, 'size', 0o444, () => `${provider.pool.size}\n`);
  t.text(dir, 'available', 0o444, () => `${provider.pool.avail}\n`);
  t.text(dir, 'published', 0o444, () => `${provider.published ? 1 : 0}\n`);
  const files = open.get(provider) ?? new Set<AllocateFile>();
  open.set(provider, files);
  t.device(dir, {
    name: 'allocate',
    mode: 0o660,
    direct: false,
    size: () => ALLOCATE_FILE_SIZE,
    freshPerLookup: true,
    openFile: allocationNode(ctx, provider, files),
  });
  return dir;
}

