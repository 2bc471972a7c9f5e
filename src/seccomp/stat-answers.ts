// Answers to the stat family and statfs for the emulated tree: a file of the
// mount that stands for a device node is a character or block device with the
// emulated sysfs's device number; anything under the emulated /sys says it is
// sysfs (debugfs under MNT/sys/kernel/debug). The supervisor runs the call
// itself, corrects those fields, and writes the result into the caller's
// buffer once the notification is known to be valid; everything else runs as
// the caller asked (CONTINUE).

import { closeSync, openSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { fdLink, fdTarget, pathAt, readCString, writeCaller } from '../caller-memory/index.js';
import { fileKey, sameDev, type DeviceIdentity, type DeviceNodes, type DevNumber } from './device-nodes.js';
import { SYS } from './filter.js';
import { AT_FDCWD, newfstatat, statfs, statx } from './native.js';
import { asInt, CONTINUE, type Answer, type Notification } from './notification.js';

export interface StatContext {
  mnt: string;
  /** the mount's device, as stat shows it on each of its files */
  mountDev: DevNumber;
  /** the tmpfs `p2pemu run` put at /sys (its own files are the emulated sysfs too) */
  sysDev: DevNumber | undefined;
  nodes: DeviceNodes;
  /** SECCOMP_IOCTL_NOTIF_ID_VALID for this notification: the caller still waits and is who it was */
  stillValid(n: Notification): boolean;
}

// include/uapi/linux/fcntl.h
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_NO_AUTOMOUNT = 0x800;
const AT_EMPTY_PATH = 0x1000;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const O_PATH = 0o10000000;
// include/uapi/linux/magic.h
export const SYSFS_MAGIC = 0x62656572;
export const DEBUGFS_MAGIC = 0x64626720;
export const TMPFS_MAGIC = 0x01021994;

/** What a stat-family call looks at: a path the supervisor can resolve as the caller would. */
interface StatTarget {
  path: string;
  /** AT_* flags for the supervisor's own call (no AT_SYMLINK_NOFOLLOW for an fd: its magic link must be followed) */
  flags: number;
  /** the file's own name: from the caller's path, or for an fd the path it was opened by (asked only for files of the mount) */
  name: () => string | undefined;
  buf: bigint;
  statx?: { mask: number };
}

/** A path string argument; undefined when it cannot be read (the kernel will say EFAULT). NULL is "" for the AT_EMPTY_PATH calls. */
function pathArg(tid: number, reg: bigint): string | undefined {
  return reg === 0n ? '' : readCString(tid, reg);
}

function atTarget(tid: number, dirfd: number, path: string, flags: number, buf: bigint): StatTarget | undefined {
  if (path === '') {
    if (!(flags & AT_EMPTY_PATH)) return undefined; // ENOENT, the kernel's to say
    return { path: pathAt(tid, dirfd, ''), flags: flags & AT_NO_AUTOMOUNT, name: () => (dirfd === AT_FDCWD ? undefined : nameOf(fdTarget(tid, dirfd))), buf };
  }
  return { path: pathAt(tid, dirfd, path), flags: flags & (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT), name: () => basename(path.replace(/\/+$/, '')), buf };
}

const nameOf = (path: string | undefined) => path && basename(path);

function fdTargetOf(tid: number, fd: number, buf: bigint): StatTarget {
  return { path: fdLink(tid, fd), flags: 0, name: () => nameOf(fdTarget(tid, fd)), buf };
}

function statTarget(n: Notification): StatTarget | undefined {
  const tid = n.pid;
  const a = n.args;
  switch (n.nr) {
    case SYS.fstat:
      return fdTargetOf(tid, asInt(a[0]!), a[1]!);
    case SYS.stat:
    case SYS.lstat: {
      const path = pathArg(tid, a[0]!);
      if (!path) return undefined;
      return atTarget(tid, AT_FDCWD, path, n.nr === SYS.lstat ? AT_SYMLINK_NOFOLLOW : 0, a[1]!);
    }
    case SYS.newfstatat: {
      const path = pathArg(tid, a[1]!);
      return path === undefined ? undefined : atTarget(tid, asInt(a[0]!), path, asInt(a[3]!), a[2]!);
    }
    case SYS.statx: {
      const path = pathArg(tid, a[1]!);
      const flags = asInt(a[2]!);
      const t = path === undefined ? undefined : atTarget(tid, asInt(a[0]!), path, flags, a[4]!);
      // the caller's sync wishes (AT_STATX_*) stay
      return t && { ...t, flags: t.flags | (flags & 0x6000), statx: { mask: Number(a[3]! & 0xffffffffn) } };
    }
  }
  return undefined;
}

// kernel: new_encode_dev(), include/linux/kdev_t.h (what cp_new_stat() puts in st_rdev)
const encodeDev = (d: DevNumber) => BigInt((d.minor & 0xff) | (d.major << 8) | ((d.minor & ~0xff) << 12));

/** The caller's stat(2) family call on one of the mount's device stand-ins, as the kernel would answer it for the device node. */
function deviceStat(ctx: StatContext, n: Notification, t: StatTarget, id: DeviceIdentity): Answer {
  const type = id.type === 'blk' ? S_IFBLK : S_IFCHR;
  let out: Buffer;
  if (t.statx) {
    // struct statx: stx_mode u16 @28, stx_size @40, stx_blocks @48, stx_rdev_major/minor u32 @128/@132
    out = Buffer.alloc(256);
    if (statx(AT_FDCWD, t.path, t.flags, t.statx.mask, out) < 0) return CONTINUE;
    out.writeUInt16LE((out.readUInt16LE(28) & ~S_IFMT & 0xffff) | type, 28);
    out.writeBigUInt64LE(0n, 40);
    out.writeBigUInt64LE(0n, 48);
    out.writeUInt32LE(id.major, 128);
    out.writeUInt32LE(id.minor, 132);
  } else {
    // struct stat (x86-64): st_mode u32 @24, st_rdev u64 @40, st_size @48, st_blocks @64
    out = Buffer.alloc(144);
    if (newfstatat(AT_FDCWD, t.path, out, t.flags) < 0) return CONTINUE;
    out.writeUInt32LE((out.readUInt32LE(24) & ~S_IFMT) | type, 24);
    out.writeBigUInt64LE(encodeDev(id), 40);
    // a device node's inode has no size of its own (devtmpfs): the device's size comes from its ioctls
    out.writeBigInt64LE(0n, 48);
    out.writeBigInt64LE(0n, 64);
  }
  return answerWithBuffer(ctx, n, t.buf, out);
}

/** Writes the result into the caller's buffer, only while the notification is valid (the task may have died and its id been reused). */
function answerWithBuffer(ctx: StatContext, n: Notification, addr: bigint, out: Buffer): Answer {
  if (!ctx.stillValid(n)) return CONTINUE;
  if (!writeCaller(n.pid, addr, out)) return { error: 14 }; // EFAULT
  return { value: 0 };
}

export function answerStat(ctx: StatContext, n: Notification): Answer {
  const t = statTarget(n);
  if (!t) return CONTINUE;
  const key = fileKey(t.path, t.flags & ~0x6000);
  if (!key || !sameDev(key.dev, ctx.mountDev) || (key.mode & S_IFMT) !== S_IFREG) return CONTINUE;
  const id = ctx.nodes.identityOf(key.ino, t.name());
  return id ? deviceStat(ctx, n, t, id) : CONTINUE;
}

/** The filesystem a file of the mount or of the /sys tmpfs would be on, by where it sits. */
function magicOf(ctx: StatContext, path: string, dev: DevNumber, knownTarget: string | undefined): number | undefined {
  if (ctx.sysDev && sameDev(dev, ctx.sysDev)) return SYSFS_MAGIC;
  if (!sameDev(dev, ctx.mountDev)) return undefined;
  const where = knownTarget ?? canonicalPath(path);
  if (where === undefined) return undefined;
  const under = (dir: string) => where === dir || where.startsWith(`${dir}/`);
  if (under(`${ctx.mnt}/sys/kernel/debug`)) return DEBUGFS_MAGIC;
  if (under('/sys') || under(`${ctx.mnt}/sys`)) return SYSFS_MAGIC;
  // a device node bound into /dev: devtmpfs is a tmpfs
  if (under('/dev') || under(`${ctx.mnt}/dev`)) return TMPFS_MAGIC;
  return undefined;
}

/** The path of a file as the (shared) mount namespace names it, symlinks resolved. */
function canonicalPath(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, O_PATH);
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function answerStatfs(ctx: StatContext, n: Notification): Answer {
  const tid = n.pid;
  let path: string;
  let known: string | undefined;
  if (n.nr === SYS.fstatfs) {
    const fd = asInt(n.args[0]!);
    path = fdLink(tid, fd);
    known = fdTarget(tid, fd);
  } else {
    const p = readCString(tid, n.args[0]!);
    if (!p) return CONTINUE;
    path = pathAt(tid, AT_FDCWD, p);
  }
  const key = fileKey(path, 0);
  if (!key) return CONTINUE;
  const magic = magicOf(ctx, path, key.dev, known);
  if (magic === undefined) return CONTINUE;
  // struct statfs (x86-64): f_type @0, f_bsize @8, f_blocks … f_ffree @16–@48
  const out = Buffer.alloc(120);
  if (statfs(path, out) < 0) return CONTINUE;
  out.writeBigInt64LE(BigInt(magic), 0);
  if (magic !== TMPFS_MAGIC) {
    // sysfs and debugfs count no blocks and no inodes
    out.writeBigInt64LE(4096n, 8);
    for (let off = 16; off <= 48; off += 8) out.writeBigInt64LE(0n, off);
  }
  return answerWithBuffer(ctx, n, n.args[1]!, out);
}
