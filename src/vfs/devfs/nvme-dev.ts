// /dev/nvmeX, /dev/nvmeXnY and /dev/ngXnY. Namespaces are regular files
// standing in for block devices: fixed size, block ioctls answered, O_DIRECT
// in whole logical blocks (the data path enforces it, from the backing's
// directAlign); NVMe passthrough on all three (nvme-ioctl.ts). An O_DIRECT
// read or write that reaches this file becomes a request as the kernel sees
// one (the namespace, the opcode, the segments of the caller's buffer), which
// the model's I/O path decides and counts (model/nvme/io.ts): this file translates.

import { kernelError } from '../../errno.js';
import type { NamespaceBacking, NamespaceImages } from '../../memory/index.js';
import type { Profile } from '../../config/index.js';
import { preadSync, pwriteSync } from '../../memory/index.js';
import { punchHole } from '../../memory/index.js';
import type { KernelLog } from '../../model/index.js';
import { canDma, ioNamespace, movesToDevice, NvmeOpcode, timeoutAndReset, type IoRequest, type NvmeCtrl, type NvmeIoPath, type NvmeNamespace } from '../../model/index.js';
import type { P2pdmaProvider, P2pdmaSubsystem } from '../../model/index.js';
import type { Caller } from '../caller.js';
import type { DeviceFile, DirNode, FileBacking, IoctlCall, VNode } from '../node.js';
import type { DirectShare } from '../direct-share.js';
import type { DirectBuffers } from './direct-buffer.js';
import type { P2pMappings } from '../p2p-mappings.js';
import { allocationNode, type AllocateFile, type P2pmemContext } from '../sysfs/p2pmem-group.js';
import { genericName } from '../sysfs/nvme-sysfs.js';
import { blockIoctl, nvmeIoctl, type IoctlAnswer } from './nvme-ioctl.js';

const O_DIRECT = 0o40000;
// include/uapi/linux/falloc.h
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOC_FL_WRITE_ZEROES = 0x80;
const BLKDEV_FALLOC_FL_SUPPORTED = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_WRITE_ZEROES;
const IO_QID = 1;

export interface NvmeDevContext {
  p2pdma: P2pdmaSubsystem;
  /** the model's I/O path: decisions, transfer and per-namespace counters */
  io: NvmeIoPath;
  store: NamespaceImages;
  p2p: P2pmemContext;
  /** which files' mappings hold P2P memory or PFN maps */
  mappings: P2pMappings;
  /** the reader threads' copy of what decides O_DIRECT (published again after the model changed it) */
  share: DirectShare;
  /** O_DIRECT buffers as the main thread finds them */
  buffers: DirectBuffers;
  profile: Profile;
  klog: KernelLog;
  /** allocate files of the RFC's /dev/nvmeX mmap (and every other allocate file), per provider */
  openAllocations: Map<P2pdmaProvider, Set<AllocateFile>>;
  /** per namespace: its backing file and the open files on it */
  namespaces: Map<NvmeNamespace, { backing: NamespaceBacking; open: Set<NamespaceFile> }>;
  mountedAt: number;
}

export const backingOf = (ctx: NvmeDevContext, ns: NvmeNamespace): NamespaceBacking => ctx.namespaces.get(ns)!.backing;

export const powerOnHours = (ctx: NvmeDevContext): number => Math.floor((Date.now() - ctx.mountedAt) / 3_600_000);

/** Everything a namespace did, in /sys/block/X/stat terms. */
export function namespaceIo(ctx: NvmeDevContext, ns: NvmeNamespace): { reads: number; writes: number; sectorsRead: number; sectorsWritten: number } {
  const t = ctx.io.totals(ioNamespace(ns));
  return { reads: t.readCmds, writes: t.writeCmds, sectorsRead: Math.floor(t.bytesRead / 512), sectorsWritten: Math.floor(t.bytesWritten / 512) };
}

/**
 * A config write cleared Memory Space or Bus Master of a controller: its open
 * namespaces leave the data path, so their next I/O meets the driver's timeout
 * handling (model/nvme/bus-master.ts).
 */
export function commandRegisterChanged(ctx: NvmeDevContext, ctrl: NvmeCtrl): void {
  if (canDma(ctrl)) return;
  for (const ns of ctrl.namespaces) for (const f of ctx.namespaces.get(ns)?.open ?? []) ctx.p2p.vfs.revokeBacking(f);
}

/** One open of a namespace. The data path serves it; O_DIRECT comes here while P2P mappings exist. */
export class NamespaceFile implements DeviceFile {
  /** @param node the node id the kernel opened (the inode number a caller's fd shows) */
  constructor(
    private readonly ctx: NvmeDevContext,
    private readonly ns: NvmeNamespace,
    private readonly node: number,
  ) {}

  private get entry() {
    return this.ctx.namespaces.get(this.ns)!;
  }

  backing(): FileBacking | undefined {
    // a controller that cannot do DMA is served here, where its timeout is handled
    if (!canDma(this.ns.ctrl)) return undefined;
    const statsSlot = this.ctx.io.dataPathSlot(ioNamespace(this.ns));
    // the readers decide O_DIRECT on this namespace from the next request on
    this.ctx.share.refresh();
    return {
      id: this.entry.backing.id,
      fd: this.entry.backing.fd,
      offset: 0,
      size: this.ns.size,
      writable: true,
      directAlign: this.ns.lbaSize,
      checkDirect: true,
      statsSlot,
    };
  }

  /** The request a read or write of `len` bytes at `offset` is: with O_DIRECT, the caller's buffer as the kernel would pin it. */
  private async request(caller: Caller, offset: number, len: number, flags: number, opcode: number): Promise<IoRequest> {
    const segments = flags & O_DIRECT ? await this.ctx.buffers.segments(caller.pid, { node: this.node, offset, len, write: movesToDevice(opcode) }) : [{ len, mem: { kind: 'host' as const } }];
    return { ns: ioNamespace(this.ns), opcode, segments };
  }

  /** Block I/O retried after the driver's timeout and reset, when the controller could not do DMA. */
  private busMasterCheck(write: boolean, bytes: number): void {
    timeoutAndReset(this.ns.ctrl, this.ctx.klog, { opcode: write ? NvmeOpcode.WRITE : NvmeOpcode.READ, qid: IO_QID, write, bytes, passthru: false });
  }

  async read(offset: number, size: number, caller: Caller, flags: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(size, this.ns.size - offset));
    this.busMasterCheck(false, n);
    const req = await this.request(caller, offset, n, flags, NvmeOpcode.READ);
    try {
      return this.ctx.io.submit(req, () => {
        const out = Buffer.alloc(n);
        preadSync(this.entry.backing.fd, out, offset);
        return out;
      });
    } finally {
      // a map type computed here is the readers' too
      this.ctx.share.refresh();
    }
  }

  async write(offset: number, data: Buffer, caller: Caller, flags: number): Promise<number> {
    if (offset >= this.ns.size && data.length > 0) throw kernelError('ENOSPC', 'write beyond the end of the namespace');
    const n = Math.min(data.length, this.ns.size - offset);
    this.busMasterCheck(true, n);
    const req = await this.request(caller, offset, n, flags, NvmeOpcode.WRITE);
    try {
      return this.ctx.io.submit(req, () => {
        pwriteSync(this.entry.backing.fd, data.subarray(0, n), offset);
        return n;
      });
    } finally {
      this.ctx.share.refresh();
    }
  }

  fsync(): void {
    this.ctx.store.sync(this.entry.backing);
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
    punchHole(this.entry.backing.fd, offset, len);
  }

  // kernel: blkdev_ioctl(), block/ioctl.c; nvme_ns_ioctl(), drivers/nvme/host/ioctl.c
  async ioctl(call: IoctlCall, caller: Caller): Promise<IoctlAnswer> {
    const answer = (await blockIoctl(this.ns, call, caller)) ?? (await nvmeIoctl(this.ctx, this.ns.ctrl, this.ns, call, caller));
    if (!answer) throw kernelError('ENOTTY', `ioctl 0x${call.cmd.toString(16)} is not emulated`);
    return answer;
  }

  release(): void {
    this.entry.open.delete(this);
  }
}

/** A character device with no read or write method: NVMe passthrough ioctls only (the controller, the generic ngXnY). */
class PassthruFile implements DeviceFile {
  constructor(
    private readonly ctx: NvmeDevContext,
    private readonly ctrl: NvmeCtrl,
    private readonly ns: NvmeNamespace | undefined,
  ) {}

  read(): Buffer {
    throw kernelError('EINVAL', 'this character device does not read');
  }

  write(): number {
    throw kernelError('EINVAL', 'this character device does not write');
  }

  // kernel: do_mmap(), mm/mmap.c: nvme_dev_fops and nvme_ns_chr_fops have no mmap, so mapping them is ENODEV
  mmap(): void {
    throw kernelError('ENODEV', 'this character device cannot be mapped');
  }

  // kernel: nvme_dev_ioctl() (controller), nvme_ns_chr_ioctl() (generic namespace), drivers/nvme/host/ioctl.c
  async ioctl(call: IoctlCall, caller: Caller): Promise<IoctlAnswer> {
    const answer = await nvmeIoctl(this.ctx, this.ctrl, this.ns, call, caller);
    if (!answer) throw kernelError('ENOTTY', `ioctl 0x${call.cmd.toString(16)} is not emulated`);
    return answer;
  }
}

/** Creates the /dev nodes of a controller and returns them (for removal at unbind). */
export function addNvmeDevNodes(ctx: NvmeDevContext, devDir: DirNode, ctrl: NvmeCtrl): VNode[] {
  const t = ctx.p2p.table;
  const nodes: VNode[] = [];
  const provider = ctx.p2pdma.providerOf(ctrl.dev);
  if (ctx.profile === 'userspace-p2pdma-rfc' && provider) {
    // the RFC's "nvme-pci: Allow mmaping the CMB in userspace": each mapping is a CMB allocation
    const files = ctx.openAllocations.get(provider) ?? new Set<AllocateFile>();
    ctx.openAllocations.set(provider, files);
    // sized like the CMB, so that tools checking the length against the file size let the mapping through
    nodes.push(t.device(devDir, { name: ctrl.name, standsFor: 'char', mode: 0o600, direct: false, size: () => ctrl.cmbRegistered, freshPerLookup: true, openFile: allocationNode(ctx.p2p, provider, files) }));
  } else {
    // differs: mmap() cannot be refused with ENODEV over FUSE; a 0-byte file makes the first touch SIGBUS
    nodes.push(t.device(devDir, { name: ctrl.name, standsFor: 'char', mode: 0o600, direct: false, size: () => 0, openFile: () => new PassthruFile(ctx, ctrl, undefined) }));
  }
  for (const ns of ctrl.namespaces) {
    if (!ctx.namespaces.has(ns)) {
      const backing = ctx.store.open(`${ctrl.dev.bdf.replace(/:/g, '-')}-n${ns.nsid}`, ns.size);
      ctx.namespaces.set(ns, { backing, open: new Set() });
    }
    nodes.push(
      t.device(devDir, {
        name: ns.name,
        standsFor: 'block',
        mode: 0o660,
        direct: false,
        size: () => ns.size,
        openFile: (_caller, ino) => {
          const f = new NamespaceFile(ctx, ns, ino);
          ctx.namespaces.get(ns)!.open.add(f);
          return f;
        },
      }),
    );
    nodes.push(t.device(devDir, { name: genericName(ns), standsFor: 'char', mode: 0o600, direct: false, size: () => 0, openFile: () => new PassthruFile(ctx, ctrl, ns) }));
  }
  return nodes;
}
