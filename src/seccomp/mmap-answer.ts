// mmap() of a file of the mount: the file's mmap method runs now, in the
// daemon, through a private ioctl on the caller's own open file (pidfd_getfd:
// the same open file description, so the same FUSE handle): p2pmem_alloc_mmap's
// checks and allocation for allocate, pci_mmap_fits for resourceN, ENODEV for a
// file without mmap. Its errno fails the caller's mmap(); otherwise the call
// runs as asked (CONTINUE) and its first fault finds the allocation made.

import { encodeMmapIntent, MAP_PRIVATE, MAP_SHARED, MAP_TYPE, P2PEMU_IOC_MMAP_INTENT, PROT_WRITE } from '../vfs/index.js';
import { callerMemory, fdFlags, fdLink } from '../caller-memory/index.js';
import { fileKey, sameDev, type DevNumber } from './device-nodes.js';
import { closeFd, ioctlBuffer, pidfdGetfd, pidfdOpen, PIDFD_THREAD } from './native.js';
import { asInt, CONTINUE, type Answer, type Notification } from './notification.js';

export interface MmapContext {
  mountDev: DevNumber;
  stillValid(n: Notification): boolean;
}

const PAGE = 4096n;
// include/uapi/asm-generic/mman-common.h, mman.h, fcntl.h
const MAP_SHARED_VALIDATE = 0x03;
const MAP_FIXED = 0x10;
const MAP_FIXED_NOREPLACE = 0x100000;
const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;
const ENOTTY = 25;

/**
 * The checks do_mmap() makes before the file's mmap method runs: when one of
 * them fails, the kernel's own errno must win, so the call runs unchanged.
 */
function kernelRefusesFirst(len: bigint, off: bigint, addr: bigint, flags: number, prot: number, openFlags: number): boolean {
  if (len === 0n || off % PAGE !== 0n) return true;
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return true;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) && addr % PAGE !== 0n) return true;
  const acc = openFlags & O_ACCMODE;
  if (acc === O_WRONLY) return true; // EACCES: a mapping needs read access
  return type !== MAP_PRIVATE && (prot & PROT_WRITE) !== 0 && acc !== O_RDWR; // EACCES
}

export function answerMmap(ctx: MmapContext, n: Notification): Answer {
  const [addr, len, protReg, flagsReg, fdReg, off] = n.args as [bigint, bigint, bigint, bigint, bigint, bigint];
  const fd = asInt(fdReg);
  const tid = n.pid;
  const key = fd < 0 ? undefined : fileKey(fdLink(tid, fd), 0);
  if (!key || !sameDev(key.dev, ctx.mountDev)) return CONTINUE;
  const flags = asInt(flagsReg);
  const prot = asInt(protReg);
  const openFlags = fdFlags(tid, fd);
  if (openFlags === undefined || kernelRefusesFirst(len, off, addr, flags, prot, openFlags)) return CONTINUE;
  const explicit = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0 || addr !== 0n;
  const intent = encodeMmapIntent({
    len: Number(((len + PAGE - 1n) / PAGE) * PAGE),
    pgoff: Number(off / PAGE),
    prot,
    flags,
    addr: explicit ? Number(addr) : undefined,
    pid: callerMemory.tgid(tid),
  });
  let pidfd = pidfdOpen(tid, PIDFD_THREAD);
  if (pidfd < 0) pidfd = pidfdOpen(callerMemory.tgid(tid));
  if (pidfd < 0) return CONTINUE;
  try {
    // the pidfd names the task the notification came from only if it is still valid now
    if (!ctx.stillValid(n)) return CONTINUE;
    const file = pidfdGetfd(pidfd, fd);
    if (file < 0) return CONTINUE;
    try {
      const r = ioctlBuffer(file, P2PEMU_IOC_MMAP_INTENT, intent);
      return r === 0 || r === -ENOTTY ? CONTINUE : { error: -r };
    } finally {
      closeFd(file);
    }
  } finally {
    closeFd(pidfd);
  }
}
