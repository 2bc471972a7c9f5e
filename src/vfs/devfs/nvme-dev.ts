// /dev/nvmeX and /dev/nvmeXnY. Namespaces are regular files standing in for
// block devices: fixed size, O_TRUNC and truncation ignored, block ioctls
// answered, O_DIRECT in whole logical blocks, and O_DIRECT into P2P memory
// decided by the kernel's rules (model/nvme/io.ts).

import { kernelError } from '../../errno.js';
import type { NamespaceBacking, NamespaceStore } from '../../memory/namespace-store.js';
import type { Profile } from '../../config/spec.js';
import { preadSync, pwriteSync } from '../../memory/fd-io.js';
import { checkVmaFlags, type VmaFlags } from '../../model/mm/gup.js';
import { punchHole } from '../../memory/punch-hole.js';
import { classifyP2p, type NvmeCtrl, type NvmeNamespace, type TransferStats } from '../../model/nvme/index.js';
import type { P2pdmaProvider, P2pdmaSubsystem } from '../../model/p2pdma/index.js';
import type { PciDev } from '../../model/pci/index.js';
import { writeProcessMemory } from '../../proc.js';
import type { Caller } from '../caller.js';
import type { DeviceFile, DirNode, FileBacking, IoctlCall } from '../node.js';
import { allocationNode, type AllocateFile, type P2pmemContext } from '../sysfs/p2pmem-group.js';
import { p2pMappingsOf, splitByProvider, userRangesOf, type P2pMapping } from './direct-io.js';
import { tgidOf } from '../../proc.js';

const O_DIRECT = 0o40000;
const SECTOR = 512;
// include/uapi/linux/falloc.h
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOC_FL_WRITE_ZEROES = 0x80;
const BLKDEV_FALLOC_FL_SUPPORTED = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_WRITE_ZEROES;

// include/uapi/linux/fs.h: _IO(0x12, n) commands carry no size; the answer goes to *arg
const BLKROGET = 0x125e;
const BLKGETSIZE = 0x1260;
const BLKFLSBUF = 0x1261;
const BLKRAGET = 0x1263;
const BLKSSZGET = 0x1268;
const BLKIOMIN = 0x1278;
const BLKIOOPT = 0x1279;
const BLKALIGNOFF = 0x127a;
const BLKPBSZGET = 0x127b;
const BLKDISCARDZEROES = 0x127c;
const BLKROTATIONAL = 0x127e;
// _IOR(0x12, n, size_t): 8 bytes back in the reply
const BLKBSZGET = 0x80081270;
const BLKGETSIZE64 = 0x80081272;
// include/uapi/linux/nvme_ioctl.h: _IO('N', 0x40) returns the namespace id
const NVME_IOCTL_ID = 0x4e40;

export interface NvmeDevContext {
  p2pdma: P2pdmaSubsystem;
  stats: TransferStats;
  store: NamespaceStore;
  p2p: P2pmemContext;
  profile: Profile;
  /** allocate files of the RFC's /dev/nvmeX mmap, per provider */
  openAllocations: Map<P2pdmaProvider, Set<AllocateFile>>;
  /** next free data-path stats slot */
  nextStatsSlot: number;
  /** P2P mappings per process, valid while the generation of sized allocations is unchanged */
  mappingCache?: Map<number, { generation: number; maps: P2pMapping<MappedMemory>[] }>;
}

/** What a mapping of the mount holds: a provider's P2P pages, or a PFN map GUP refuses (an exported dma-buf). */
type MappedMemory = PciDev | VmaFlags;
const isPfnMap = (m: MappedMemory | undefined): m is VmaFlags => m !== undefined && 'pfnmap' in m;

/** The caller's P2P mappings, from /proc/TID/maps once per process and allocation change. */
function p2pMappingsCached(ctx: NvmeDevContext, tid: number, dev: string): P2pMapping<MappedMemory>[] {
  const cache = (ctx.mappingCache ??= new Map());
  const pid = tgidOf(tid);
  const hit = cache.get(pid);
  if (hit && hit.generation === ctx.p2p.sizedGeneration) return hit.maps;
  const providers = new Map<number, MappedMemory>([...ctx.p2p.sized].map(([ino, f]) => [ino, f.provider.dev]));
  for (const [ino, what] of ctx.p2p.pfnMaps) providers.set(ino, { pfnmap: true, what });
  const maps = p2pMappingsOf(tid, dev, providers);
  if (cache.size > 1024) cache.clear();
  cache.set(pid, { generation: ctx.p2p.sizedGeneration, maps });
  return maps;
}

function toUser(caller: Caller, arg: bigint, bytes: Buffer): { result: number } {
  if (!writeProcessMemory(caller.pid, Number(arg), bytes)) throw kernelError('EFAULT', 'bad ioctl argument address');
  return { result: 0 };
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

/** One open of a namespace. The data path serves it; O_DIRECT comes here while P2P mappings exist. */
class NamespaceFile implements DeviceFile {
  constructor(
    private readonly ctx: NvmeDevContext,
    private readonly ns: NvmeNamespace,
    private readonly store: NamespaceBacking,
    private readonly statsSlot: number,
  ) {}

  backing(): FileBacking {
    return {
      id: this.store.id,
      fd: this.store.fd,
      offset: 0,
      size: this.ns.size,
      writable: true,
      directAlign: this.ns.lbaSize,
      checkDirect: true,
      statsSlot: this.statsSlot,
    };
  }

  /** The pieces of a request by provider, each with the kernel's decision; throws EREMOTEIO on refusal. */
  private async decide(caller: Caller, offset: number, len: number, write: boolean): Promise<{ provider: PciDev | undefined; len: number; path: ReturnType<typeof classifyP2p> }[]> {
    const dev = this.ctx.p2p.mountDev();
    const ranges = dev ? await userRangesOf(caller.pid, offset, len) : undefined;
    const pieces = ranges && dev ? splitByProvider(ranges, p2pMappingsCached(this.ctx, caller.pid, dev)) : [{ len, provider: undefined }];
    const client = this.ns.ctrl.dev;
    return pieces.map((p) => {
      // GUP looks at the VMA first: a PFN map is refused before any P2P rule
      if (isPfnMap(p.provider)) checkVmaFlags(p.provider);
      const provider = p.provider as PciDev | undefined;
      try {
        return { provider, len: p.len, path: classifyP2p(this.ns, provider, this.ctx.p2pdma) };
      } catch (err) {
        this.ctx.stats.add(client, provider, 'refused', write, 0);
        throw err;
      }
    });
  }

  private checkDirect(offset: number, len: number, flags: number): boolean {
    if (!(flags & O_DIRECT)) return false;
    if (offset % this.ns.lbaSize !== 0 || len % this.ns.lbaSize !== 0) throw kernelError('EINVAL', 'O_DIRECT needs whole logical blocks');
    return true;
  }

  async read(offset: number, size: number, caller: Caller, flags: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(size, this.ns.size - offset));
    const pieces = this.checkDirect(offset, size, flags) ? await this.decide(caller, offset, n, false) : [{ provider: undefined, len: n, path: 'host' as const }];
    const out = Buffer.alloc(n);
    preadSync(this.store.fd, out, offset);
    for (const p of pieces) this.ctx.stats.add(this.ns.ctrl.dev, p.provider, p.path, false, p.len);
    return out;
  }

  async write(offset: number, data: Buffer, caller: Caller, flags: number): Promise<number> {
    if (offset >= this.ns.size && data.length > 0) throw kernelError('ENOSPC', 'write beyond the end of the namespace');
    const n = Math.min(data.length, this.ns.size - offset);
    const pieces = this.checkDirect(offset, data.length, flags) ? await this.decide(caller, offset, n, true) : [{ provider: undefined, len: n, path: 'host' as const }];
    pwriteSync(this.store.fd, data.subarray(0, n), offset);
    for (const p of pieces) this.ctx.stats.add(this.ns.ctrl.dev, p.provider, p.path, true, p.len);
    return n;
  }

  fsync(): void {
    this.ctx.store.sync(this.store);
  }

  // kernel: blkdev_fallocate(), block/fops.c: zeroing modes only, in whole logical blocks
  fallocate(offset: number, length: number, mode: number): void {
    if (mode & ~BLKDEV_FALLOC_FL_SUPPORTED) throw kernelError('EOPNOTSUPP', 'unsupported fallocate mode');
    let len = length;
    if (offset >= this.ns.size) throw kernelError('EINVAL', 'fallocate beyond the end of the namespace');
    if (offset + len > this.ns.size) {
      if (!(mode & FALLOC_FL_KEEP_SIZE)) throw kernelError('EINVAL', 'fallocate beyond the end of the namespace');
      len = this.ns.size - offset;
    }
    if (offset % this.ns.lbaSize !== 0 || len % this.ns.lbaSize !== 0) throw kernelError('EINVAL', 'fallocate needs whole logical blocks');
    // ZERO_RANGE zeroes (by Write Zeroes or writing zeros), PUNCH_HOLE|KEEP_SIZE only by Write Zeroes, which the controller has
    const zeroing = mode === FALLOC_FL_ZERO_RANGE || mode === (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE) || mode === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
    if (!zeroing) throw kernelError('EOPNOTSUPP', 'a block device only zeroes ranges');
    punchHole(this.store.fd, offset, len);
  }

  // kernel: blkdev_ioctl(), block/ioctl.c; nvme_ns_ioctl(), drivers/nvme/host/ioctl.c
  ioctl(call: IoctlCall, caller: Caller): { result: number; output?: Buffer } {
    const ns = this.ns;
    switch (call.cmd >>> 0) {
      case BLKGETSIZE64:
        return { result: 0, output: u64(ns.size) };
      case BLKBSZGET:
        return { result: 0, output: u64(4096) };
      case BLKGETSIZE:
        return toUser(caller, call.arg, u64(ns.size / SECTOR));
      case BLKSSZGET:
      case BLKPBSZGET:
      case BLKIOMIN:
        return toUser(caller, call.arg, u32(ns.lbaSize));
      case BLKIOOPT:
      case BLKALIGNOFF:
      case BLKROGET:
      case BLKDISCARDZEROES:
        return toUser(caller, call.arg, u32(0));
      case BLKROTATIONAL:
        return toUser(caller, call.arg, u16(0));
      case BLKRAGET:
        return toUser(caller, call.arg, u64(256));
      case BLKFLSBUF:
        return { result: 0 };
      case NVME_IOCTL_ID:
        return { result: ns.nsid };
      default:
        throw kernelError('ENOTTY', `ioctl 0x${call.cmd.toString(16)} is not emulated`);
    }
  }
}

/** The controller character device: admin ioctls are not emulated; mmap only with the RFC profile. */
class CtrlFile implements DeviceFile {
  read(): Buffer {
    throw kernelError('EINVAL', 'the controller device does not read');
  }

  write(): number {
    throw kernelError('EINVAL', 'the controller device does not write');
  }
}

export function addNvmeDevNodes(ctx: NvmeDevContext, devDir: DirNode, ctrl: NvmeCtrl): void {
  const t = ctx.p2p.table;
  const provider = ctx.p2pdma.providerOf(ctrl.dev);
  if (ctx.profile === 'userspace-p2pdma-rfc' && provider) {
    // the RFC's "nvme-pci: Allow mmaping the CMB in userspace": each mapping is a CMB allocation
    const files = ctx.openAllocations.get(provider) ?? new Set<AllocateFile>();
    ctx.openAllocations.set(provider, files);
    // sized like the CMB, so that tools checking the length against the file size let the mapping through
    t.device(devDir, { name: ctrl.name, standsFor: 'char', mode: 0o600, direct: false, size: () => ctrl.cmbRegistered, freshPerLookup: true, openFile: allocationNode(ctx.p2p, provider, files) });
  } else {
    // differs: mmap() cannot be refused with ENODEV over FUSE; a 0-byte file makes the first touch SIGBUS
    t.device(devDir, { name: ctrl.name, standsFor: 'char', mode: 0o600, direct: false, size: () => 0, openFile: () => new CtrlFile() });
  }
  for (const ns of ctrl.namespaces) {
    const backing = ctx.store.open(`${ctrl.dev.bdf.replace(/:/g, '-')}-n${ns.nsid}`, ns.size);
    const slot = ctx.nextStatsSlot++;
    // what the data path served for this namespace is host-memory traffic
    ctx.stats.addSource(() => {
      const s = ctx.p2p.vfs.dataPathStats(slot);
      if (s.reads + s.writes === 0) return [];
      return [{ client: ctrl.dev.bdf, provider: 'host memory', path: 'host', reads: s.reads, writes: s.writes, bytes: s.bytesRead + s.bytesWritten }];
    });
    t.device(devDir, {
      name: ns.name,
      standsFor: 'block',
      mode: 0o660,
      direct: false,
      size: () => ns.size,
      openFile: () => new NamespaceFile(ctx, ns, backing, slot),
    });
  }
}
