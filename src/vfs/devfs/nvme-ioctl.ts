// ioctls on /dev/nvmeXnY, /dev/ngXnY and /dev/nvmeX: the block ioctls
// (block/ioctl.c) and NVMe passthrough (drivers/nvme/host/ioctl.c): the
// 72- or 80-byte command struct comes in and goes back with its result; data
// moves between the namespace and the caller's buffer as the controller's DMA
// would, through the same P2P decisions as O_DIRECT.

import { kernelError } from '../../errno.js';
import {
  adminCommand,
  ioRange,
  nvme_cmd,
  NVME_SC_INVALID_FIELD,
  NVME_SC_INVALID_OPCODE,
  NVME_STATUS_DNR,
  timeoutAndReset,
  type CmdResult,
  type NvmeCtrl,
  type NvmeNamespace,
  type PassthruCmd,
  ioNamespace,
} from '../../model/index.js';
import { callerMemory, copyToUser } from '../../caller-memory/index.js';
import { isPrivileged, type Caller } from '../caller.js';
import type { IoctlCall } from '../node.js';
import { sizeMappedAllocations } from '../sysfs/p2pmem-group.js';
import type { UserSegment } from '../p2p-mappings.js';
import { backingOf, powerOnHours, type NvmeDevContext } from './nvme-dev.js';
import { preadSync, pwriteSync } from '../../memory/index.js';

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
// include/uapi/linux/nvme_ioctl.h
const NVME_IOCTL_ID = 0x4e40; // _IO('N', 0x40)
const NVME_IOCTL_ADMIN_CMD = 0xc0484e41; // _IOWR('N', 0x41, struct nvme_passthru_cmd)
const NVME_IOCTL_IO_CMD = 0xc0484e43; // _IOWR('N', 0x43, struct nvme_passthru_cmd)
const NVME_IOCTL_RESET = 0x4e44;
const NVME_IOCTL_SUBSYS_RESET = 0x4e45;
const NVME_IOCTL_RESCAN = 0x4e46;
const NVME_IOCTL_ADMIN64_CMD = 0xc0504e47; // _IOWR('N', 0x47, struct nvme_passthru_cmd64)
const NVME_IOCTL_IO64_CMD = 0xc0504e48;
const SECTOR = 512;
// an admin passthrough is cancelled by the reset that follows its timeout (nvme_submit_user_cmd: -EINTR)
const ADMIN_QID = 0;
const IO_QID = 1;

export type IoctlAnswer = { result: number; output?: Buffer };

/** An _IO command's answer goes to *arg, as the kernel's put_user() puts it (EFAULT and nothing written). */
async function toUser(caller: Caller, arg: bigint, bytes: Buffer): Promise<IoctlAnswer> {
  await copyToUser(caller.pid, arg, bytes);
  return { result: 0 };
}

const int = (bytes: number, v: number) => {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64LE(BigInt(v));
  else if (bytes === 4) b.writeUInt32LE(v);
  else b.writeUInt16LE(v);
  return b;
};

// kernel: blkdev_ioctl(), block/ioctl.c
export function blockIoctl(ns: NvmeNamespace, call: IoctlCall, caller: Caller): IoctlAnswer | Promise<IoctlAnswer> | undefined {
  switch (call.cmd >>> 0) {
    case BLKGETSIZE64:
      return { result: 0, output: int(8, ns.size) };
    case BLKBSZGET:
      return { result: 0, output: int(8, 4096) };
    case BLKGETSIZE:
      return toUser(caller, call.arg, int(8, ns.size / SECTOR));
    case BLKSSZGET:
    case BLKPBSZGET:
    case BLKIOMIN:
      return toUser(caller, call.arg, int(4, ns.lbaSize));
    case BLKIOOPT:
    case BLKALIGNOFF:
    case BLKROGET:
    case BLKDISCARDZEROES:
      return toUser(caller, call.arg, int(4, 0));
    case BLKROTATIONAL:
      return toUser(caller, call.arg, int(2, 0));
    case BLKRAGET:
      return toUser(caller, call.arg, int(8, 256));
    case BLKFLSBUF:
      return { result: 0 };
    default:
      return undefined;
  }
}

// struct nvme_passthru_cmd(64): opcode 0, flags 1, nsid 4, addr 24, data_len 36, cdw10..15 40..60, timeout_ms 64, result 68 (u64 at 72 in the 64-bit variant)
function decodeCmd(input: Buffer): PassthruCmd & { flags: number; addr: number } {
  return {
    opcode: input[0]!,
    flags: input[1]!,
    nsid: input.readUInt32LE(4),
    addr: Number(input.readBigUInt64LE(24)),
    dataLen: input.readUInt32LE(36),
    cdw10: input.readUInt32LE(40),
    cdw11: input.readUInt32LE(44),
    cdw12: input.readUInt32LE(48),
    cdw13: input.readUInt32LE(52),
  };
}

function encodeResult(input: Buffer, result: number, wide: boolean): Buffer {
  const out = Buffer.from(input);
  if (wide) out.writeBigUInt64LE(BigInt(result >>> 0), 72);
  else out.writeUInt32LE(result >>> 0, 68);
  return out;
}

// kernel: nvme_cmd_allowed(), drivers/nvme/host/ioctl.c: without CAP_SYS_ADMIN only what reads (Identify, Get Log Page, Get Features; Read)
function allowed(cmd: PassthruCmd, admin: boolean, caller: Caller): boolean {
  if (isPrivileged(caller)) return true;
  return admin ? [0x02, 0x06, 0x0a].includes(cmd.opcode) : cmd.opcode === nvme_cmd.read;
}

/** The BAR bytes behind a P2P segment: the device's view of the allocation it lies in. */
function barRange(ctx: NvmeDevContext, seg: UserSegment): { bdf: string; bar: number; barSize: number; offset: number } {
  if (seg.mem.kind !== 'p2p') throw new Error('not P2P memory');
  const a = ctx.p2pdma.allocations.get(seg.mem.alloc.id);
  if (!a) throw kernelError('EFAULT', 'the P2P memory of the buffer is gone');
  const bar = a.provider.dev.bars.find((b) => b.index === a.bar)!;
  return { bdf: a.provider.dev.bdf, bar: bar.index, barSize: bar.size, offset: a.barOffset + seg.mem.offset };
}

/** Where the data of a passthrough lands: the caller's memory, or device memory when its buffer is P2P memory. */
async function toCaller(ctx: NvmeDevContext, caller: Caller, segments: UserSegment[], data: Buffer): Promise<void> {
  let off = 0;
  for (const seg of segments) {
    const chunk = data.subarray(off, off + seg.len);
    if (seg.mem.kind === 'p2p') {
      const r = barRange(ctx, seg);
      await ctx.p2p.barView.write(r.bdf, r.bar, r.barSize, r.offset, chunk);
    } else {
      // copy_to_user(): the caller's buffer must be writable memory, all of it
      await copyToUser(caller.pid, BigInt(seg.addr), chunk);
    }
    off += seg.len;
  }
}

async function fromCaller(ctx: NvmeDevContext, caller: Caller, segments: UserSegment[], len: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const seg of segments) {
    if (seg.mem.kind === 'p2p') {
      const r = barRange(ctx, seg);
      parts.push(await ctx.p2p.barView.read(r.bdf, r.bar, r.barSize, r.offset, seg.len));
    } else {
      const b = callerMemory.readMemory(caller.pid, seg.addr, seg.len);
      if (!b) throw kernelError('EFAULT', 'bad passthrough buffer address');
      parts.push(b);
    }
  }
  return Buffer.concat(parts, len);
}

const status = (sc: number): CmdResult => ({ status: sc | NVME_STATUS_DNR, result: 0 });

/** An I/O command (Read, Write, Flush, Write Zeroes) on a namespace, moving data through the P2P decisions. */
async function ioCommand(ctx: NvmeDevContext, ns: NvmeNamespace, cmd: PassthruCmd & { addr: number }, caller: Caller): Promise<CmdResult> {
  if (cmd.opcode === nvme_cmd.flush) {
    ctx.store.sync(backingOf(ctx, ns));
    return { status: 0, result: 0 };
  }
  if (cmd.opcode !== nvme_cmd.read && cmd.opcode !== nvme_cmd.write && cmd.opcode !== nvme_cmd.writeZeroes) return status(NVME_SC_INVALID_OPCODE);
  const range = ioRange(ns.size / ns.lbaSize, cmd);
  if ('status' in range) return range;
  const offset = range.slba * ns.lbaSize;
  const len = range.nlb * ns.lbaSize;
  const fd = backingOf(ctx, ns).fd;
  if (cmd.opcode === nvme_cmd.writeZeroes) {
    pwriteSync(fd, Buffer.alloc(len), offset);
    return { status: 0, result: 0 };
  }
  // the controller moves NLB blocks; a shorter buffer is a bad command
  if (cmd.dataLen < len || cmd.addr === 0) return status(NVME_SC_INVALID_FIELD);
  const write = cmd.opcode === nvme_cmd.write;
  sizeMappedAllocations(ctx.p2p, ctx.openAllocations, caller);
  // the command's buffer, as the controller's DMA would see it: through the same decision as O_DIRECT
  const device = ctx.p2p.vfs.port.device;
  const segments: UserSegment[] = device ? ctx.mappings.segmentsOf(caller.pid, device, [{ addr: cmd.addr, len }]) : [{ addr: cmd.addr, len, mem: { kind: 'host' } }];
  await ctx.io.submit({ ns: ioNamespace(ns), opcode: cmd.opcode, segments }, async () => {
    if (write) {
      pwriteSync(fd, await fromCaller(ctx, caller, segments, len), offset);
    } else {
      const data = Buffer.alloc(len);
      preadSync(fd, data, offset);
      await toCaller(ctx, caller, segments, data);
    }
  });
  return { status: 0, result: 0 };
}

/** The NVMe ioctls of a namespace (ns set) or a controller (ns undefined). */
export async function nvmeIoctl(ctx: NvmeDevContext, ctrl: NvmeCtrl, ns: NvmeNamespace | undefined, call: IoctlCall, caller: Caller): Promise<IoctlAnswer | undefined> {
  const cmdNr = call.cmd >>> 0;
  switch (cmdNr) {
    case NVME_IOCTL_ID:
      // kernel: nvme_ns_ioctl(): the namespace's NSID; a controller has none (ENOTTY)
      return ns ? { result: ns.nsid } : undefined;
    case NVME_IOCTL_RESET:
    case NVME_IOCTL_SUBSYS_RESET:
    case NVME_IOCTL_RESCAN:
      if (ns) return undefined;
      if (!isPrivileged(caller)) throw kernelError('EACCES', 'needs CAP_SYS_ADMIN');
      return { result: 0 };
    case NVME_IOCTL_ADMIN_CMD:
    case NVME_IOCTL_ADMIN64_CMD:
    case NVME_IOCTL_IO_CMD:
    case NVME_IOCTL_IO64_CMD:
      break;
    default:
      return undefined;
  }
  const wide = cmdNr === NVME_IOCTL_ADMIN64_CMD || cmdNr === NVME_IOCTL_IO64_CMD;
  const admin = cmdNr === NVME_IOCTL_ADMIN_CMD || cmdNr === NVME_IOCTL_ADMIN64_CMD;
  const cmd = decodeCmd(call.input);
  // kernel: nvme_user_cmd(): flags must be 0; an I/O command names the namespace of the file it came through
  if (cmd.flags !== 0) throw kernelError('EINVAL', 'passthrough flags must be 0');
  let target = ns;
  if (!admin) {
    // kernel: nvme_dev_user_cmd(): on the controller, only with exactly one namespace
    if (!target) {
      if (ctrl.namespaces.length !== 1) throw kernelError('EINVAL', 'NVME_IOCTL_IO_CMD on the controller needs exactly one namespace');
      target = ctrl.namespaces[0]!;
    }
    if (cmd.nsid !== target.nsid) throw kernelError('EINVAL', `nsid ${cmd.nsid} in the command is not ${target.nsid} of ${target.name}`);
  }
  if (!allowed(cmd, admin, caller)) throw kernelError('EACCES', 'passthrough command needs CAP_SYS_ADMIN');
  const bytes = cmd.dataLen;
  const write = !admin && cmd.opcode === nvme_cmd.write;
  if (timeoutAndReset(ctrl, ctx.klog, { opcode: cmd.opcode, qid: admin ? ADMIN_QID : IO_QID, write, bytes, passthru: true })) {
    throw kernelError('EINTR', 'the command timed out and was cancelled by the controller reset');
  }
  let res: CmdResult;
  if (admin) {
    res = adminCommand(ctrl, cmd, ctx.io.ctrlTotals(ctrl), powerOnHours(ctx));
    if (res.data && res.status === 0) {
      if (cmd.addr === 0 || cmd.dataLen === 0) res = status(NVME_SC_INVALID_FIELD);
      else await copyToUser(caller.pid, BigInt(cmd.addr), res.data.subarray(0, Math.min(cmd.dataLen, res.data.length)));
    }
  } else {
    res = await ioCommand(ctx, target!, cmd, caller);
  }
  return { result: res.status, output: encodeResult(call.input, res.result, wide) };
}
