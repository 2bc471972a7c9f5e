// /dev/nvmeX, /dev/nvmeXnY and /dev/ngXnY. Namespaces are regular files
// standing in for block devices: fixed size, block ioctls answered, O_DIRECT
// in whole logical blocks, O_DIRECT into P2P memory decided by the kernel's
// rules (p2p-decision.ts); NVMe passthrough on all three (nvme-ioctl.ts).

import { kernelError } from '../../errno.js';
import type { NamespaceBacking, NamespaceStore } from '../../memory/namespace-store.js';
import type { Profile } from '../../config/spec.js';
import { preadSync, pwriteSync } from '../../memory/fd-io.js';
import { punchHole } from '../../memory/punch-hole.js';
import type { KernelLog } from '../../model/klog.js';
import { canDma, timeoutAndReset, type CtrlIoTotals, type NvmeCtrl, type NvmeNamespace } from '../../model/nvme/index.js';
import type { Caller } from '../caller.js';
import type { DeviceFile, DirNode, FileBacking, IoctlCall, VNode } from '../node.js';
import { allocationNode, type AllocateFile } from '../sysfs/p2pmem-group.js';
import { genericName } from '../sysfs/nvme-sysfs.js';
import { callerMemory, userRangesOf } from '../../caller-memory/index.js';
import { blockIoctl, nvmeIoctl, type IoctlAnswer } from './nvme-ioctl.js';
import { countPieces, decideP2p, type DecidedPiece, type P2pDecisionContext } from './p2p-decision.js';

const O_DIRECT = 0o40000;
// include/uapi/linux/falloc.h
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOC_FL_WRITE_ZEROES = 0x80;
const BLKDEV_FALLOC_FL_SUPPORTED = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_WRITE_ZEROES;
const IO_QID = 1;

/** I/O a namespace served on the main thread (the data path counts the rest per stats slot). */
interface NsCounters {
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
}

export interface NvmeDevContext extends P2pDecisionContext {
  store: NamespaceStore;
  profile: Profile;
  klog: KernelLog;
  /** next free data-path stats slot */
  nextStatsSlot: number;
  /** per namespace: its backing file, data-path stats slot, main-thread counters and open files */
  namespaces: Map<NvmeNamespace, { backing: NamespaceBacking; slot: number; counters: NsCounters; open: Set<NamespaceFile> }>;
  mountedAt: number;
  backingOf(ns: NvmeNamespace): NamespaceBacking;
  countIo(ns: NvmeNamespace, write: boolean, bytes: number): void;
  ctrlIo(ctrl: NvmeCtrl): CtrlIoTotals;
  powerOnHours(): number;
  /** after a controller reset: open namespace files may be served by the data path again */
  dataPathBack(ctrl: NvmeCtrl): void;
}

/** Everything a namespace did: main-thread counters plus what the data path served. */
export function namespaceIo(ctx: NvmeDevContext, ns: NvmeNamespace): { reads: number; writes: number; sectorsRead: number; sectorsWritten: number } {
  const t = totals(ctx, ns);
  return { reads: t.readCmds, writes: t.writeCmds, sectorsRead: Math.floor(t.bytesRead / 512), sectorsWritten: Math.floor(t.bytesWritten / 512) };
}

function totals(ctx: NvmeDevContext, ns: NvmeNamespace): CtrlIoTotals {
  const e = ctx.namespaces.get(ns);
  if (!e) return { readCmds: 0, writeCmds: 0, bytesRead: 0, bytesWritten: 0 };
  const d = ctx.p2p.vfs.dataPathStats(e.slot);
  return { readCmds: e.counters.reads + d.reads, writeCmds: e.counters.writes + d.writes, bytesRead: e.counters.bytesRead + d.bytesRead, bytesWritten: e.counters.bytesWritten + d.bytesWritten };
}

/** The NvmeDevContext helpers that only need the context itself. */
export function nvmeDevHelpers(ctx: Omit<NvmeDevContext, 'backingOf' | 'countIo' | 'ctrlIo' | 'powerOnHours' | 'dataPathBack'>): NvmeDevContext {
  const full = ctx as NvmeDevContext;
  full.backingOf = (ns) => ctx.namespaces.get(ns)!.backing;
  full.countIo = (ns, write, bytes) => {
    const c = ctx.namespaces.get(ns)!.counters;
    if (write) {
      c.writes++;
      c.bytesWritten += bytes;
    } else {
      c.reads++;
      c.bytesRead += bytes;
    }
  };
  full.ctrlIo = (ctrl) => {
    const sum: CtrlIoTotals = { readCmds: 0, writeCmds: 0, bytesRead: 0, bytesWritten: 0 };
    for (const ns of ctrl.namespaces) {
      const t = totals(full, ns);
      sum.readCmds += t.readCmds;
      sum.writeCmds += t.writeCmds;
      sum.bytesRead += t.bytesRead;
      sum.bytesWritten += t.bytesWritten;
    }
    return sum;
  };
  full.powerOnHours = () => Math.floor((Date.now() - ctx.mountedAt) / 3_600_000);
  full.dataPathBack = () => undefined; // files get their backing back at their next read (lateBacking)
  return full;
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
  constructor(
    private readonly ctx: NvmeDevContext,
    private readonly ns: NvmeNamespace,
  ) {}

  private get entry() {
    return this.ctx.namespaces.get(this.ns)!;
  }

  backing(): FileBacking | undefined {
    // a controller that cannot do DMA is served here, where its timeout is handled
    if (!canDma(this.ns.ctrl)) return undefined;
    return {
      id: this.entry.backing.id,
      fd: this.entry.backing.fd,
      offset: 0,
      size: this.ns.size,
      writable: true,
      directAlign: this.ns.lbaSize,
      checkDirect: true,
      statsSlot: this.entry.slot,
    };
  }

  /** The P2P pieces of an O_DIRECT request (the caller waits in its read or write). */
  private async decide(caller: Caller, offset: number, len: number, write: boolean): Promise<DecidedPiece[]> {
    const ranges = this.ctx.p2p.mountDev() ? await userRangesOf(callerMemory, caller.pid, offset, len) : undefined;
    return decideP2p(this.ctx, this.ns, caller, ranges, len, write);
  }

  private checkDirect(offset: number, len: number, flags: number): boolean {
    if (!(flags & O_DIRECT)) return false;
    if (offset % this.ns.lbaSize !== 0 || len % this.ns.lbaSize !== 0) throw kernelError('EINVAL', 'O_DIRECT needs whole logical blocks');
    return true;
  }

  /** Block I/O retried after the driver's timeout and reset, when the controller could not do DMA. */
  private busMasterCheck(write: boolean, bytes: number): void {
    timeoutAndReset(this.ns.ctrl, this.ctx.klog, { opcode: write ? 0x01 : 0x02, qid: IO_QID, write, bytes, passthru: false });
  }

  async read(offset: number, size: number, caller: Caller, flags: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(size, this.ns.size - offset));
    this.busMasterCheck(false, n);
    const pieces = this.checkDirect(offset, size, flags) ? await this.decide(caller, offset, n, false) : hostOnly(n);
    const out = Buffer.alloc(n);
    preadSync(this.entry.backing.fd, out, offset);
    countPieces(this.ctx, this.ns, pieces, false);
    this.ctx.countIo(this.ns, false, n);
    return out;
  }

  async write(offset: number, data: Buffer, caller: Caller, flags: number): Promise<number> {
    if (offset >= this.ns.size && data.length > 0) throw kernelError('ENOSPC', 'write beyond the end of the namespace');
    const n = Math.min(data.length, this.ns.size - offset);
    this.busMasterCheck(true, n);
    const pieces = this.checkDirect(offset, data.length, flags) ? await this.decide(caller, offset, n, true) : hostOnly(n);
    pwriteSync(this.entry.backing.fd, data.subarray(0, n), offset);
    countPieces(this.ctx, this.ns, pieces, true);
    this.ctx.countIo(this.ns, true, n);
    return n;
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

const hostOnly = (len: number): DecidedPiece[] => [{ addr: 0, len, provider: undefined, mapping: undefined, path: 'host' }];

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
      const slot = ctx.nextStatsSlot++;
      ctx.namespaces.set(ns, { backing, slot, counters: { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0 }, open: new Set() });
      // what the data path served for this namespace is host-memory traffic
      ctx.stats.addSource(() => {
        const s = ctx.p2p.vfs.dataPathStats(slot);
        if (s.reads + s.writes === 0) return [];
        return [{ client: ctrl.dev.bdf, provider: 'host memory', path: 'host', reads: s.reads, writes: s.writes, bytes: s.bytesRead + s.bytesWritten }];
      });
    }
    nodes.push(
      t.device(devDir, {
        name: ns.name,
        standsFor: 'block',
        mode: 0o660,
        direct: false,
        size: () => ns.size,
        openFile: () => {
          const f = new NamespaceFile(ctx, ns);
          ctx.namespaces.get(ns)!.open.add(f);
          return f;
        },
      }),
    );
    nodes.push(t.device(devDir, { name: genericName(ns), standsFor: 'char', mode: 0o600, direct: false, size: () => 0, openFile: () => new PassthruFile(ctx, ctrl, ns) }));
  }
  return nodes;
}
