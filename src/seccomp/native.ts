// The system calls the seccomp supervisor of `p2pemu run` needs and Node lacks,
// through koffi: installing a filter with a listener, the listener's ioctls,
// poll, pidfd_open/pidfd_getfd, statx/newfstatat/statfs into a caller-sized
// buffer, and an ioctl with a buffer argument. The only koffi module here;
// usable from worker threads. Every function returns -errno on failure.

import koffi from 'koffi';

// x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
const SYS_statfs = 137;
const SYS_newfstatat = 262;
const SYS_seccomp = 317;
const SYS_statx = 332;
const SYS_pidfd_open = 434;
const SYS_pidfd_getfd = 438;

// include/uapi/linux/seccomp.h
const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
const SECCOMP_IOC_MAGIC = 0x21; // '!'
const iowr = (nr: number, size: number) => ((3 << 30) | (size << 16) | (SECCOMP_IOC_MAGIC << 8) | nr) >>> 0;
const iow = (nr: number, size: number) => ((1 << 30) | (size << 16) | (SECCOMP_IOC_MAGIC << 8) | nr) >>> 0;
/** struct seccomp_notif: id, pid, flags, struct seccomp_data (nr, arch, ip, args[6]) */
export const SECCOMP_NOTIF_SIZE = 80;
/** struct seccomp_notif_resp: id, val, error, flags */
export const SECCOMP_NOTIF_RESP_SIZE = 24;
const SECCOMP_IOCTL_NOTIF_RECV = iowr(0, SECCOMP_NOTIF_SIZE);
const SECCOMP_IOCTL_NOTIF_SEND = iowr(1, SECCOMP_NOTIF_RESP_SIZE);
const SECCOMP_IOCTL_NOTIF_ID_VALID = iow(2, 8);
const SECCOMP_IOCTL_NOTIF_SET_FLAGS = iow(4, 8);
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;

const PR_SET_NO_NEW_PRIVS = 38;
const POLLIN = 0x1;
export const POLLHUP = 0x10;
const EACCES = 13;

interface Libc {
  syscall: (nr: number, ...args: unknown[]) => number;
  ioctl: (fd: number, req: number, arg: Buffer) => number;
  ioctlValue: (fd: number, req: number, arg: number) => number;
  poll: (fds: Buffer, nfds: number, timeout: number) => number;
  close: (fd: number) => number;
  prctl: (option: number, a2: number, a3: number, a4: number, a5: number) => number;
}

let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  libc = {
    syscall: l.func('long syscall(long nr, ...)') as Libc['syscall'],
    ioctl: l.func('int ioctl(int fd, unsigned long req, uint8_t *arg)'),
    ioctlValue: l.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']),
    poll: l.func('int poll(uint8_t *fds, unsigned long nfds, int timeout)'),
    close: l.func('int close(int fd)'),
    prctl: l.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  };
  return libc;
}

const fail = (r: number) => (r < 0 ? -koffi.errno() : r);

/**
 * Installs a seccomp filter on the calling thread and returns its listener fd
 * (close-on-exec). Root has CAP_SYS_ADMIN and needs no no_new_privs; without
 * it the kernel says EACCES and no_new_privs is set first.
 */
export function installListenerFilter(program: Buffer): number {
  const c = lib();
  // struct sock_fprog: unsigned short len; struct sock_filter *filter (at offset 8)
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(program.length / 8, 0);
  fprog.writeBigUInt64LE(BigInt(koffi.address(program as never)), 8);
  const install = () => fail(c.syscall(SYS_seccomp, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', SECCOMP_FILTER_FLAG_NEW_LISTENER, 'uint8_t *', fprog));
  let fd = install();
  if (fd === -EACCES) {
    c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    fd = install();
  }
  // keep the program alive until the kernel has copied it
  program.readUInt8(0);
  return fd;
}

/** Waits for the next notification into `notif` (which is zeroed first, as the kernel requires). */
export function notifRecv(listener: number, notif: Buffer): number {
  notif.fill(0);
  return fail(lib().ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notif));
}

export function notifSend(listener: number, resp: Buffer): number {
  return fail(lib().ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp));
}

/**
 * Asks the kernel to wake the supervisor and the caller synchronously (on the
 * CPU that is giving way; Linux 6.6+): a notification round trip then needs no
 * trip through the scheduler's load balancing. 0 or -errno (older kernels: EINVAL).
 */
export function notifSyncWakeUp(listener: number): number {
  // the flags are the argument itself, not a pointer to them
  return fail(lib().ioctlValue(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP));
}

const idBuf = Buffer.alloc(8);
/** Whether the notification is still pending: its task has not died (or been replaced) since. */
export function notifIdValid(listener: number, id: bigint): boolean {
  idBuf.writeBigUInt64LE(id);
  return lib().ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, idBuf) === 0;
}

/** poll(2) for POLLIN on the fds; returns each fd's revents (all 0 on timeout), or -errno. */
export function pollIn(fds: number[], timeoutMs: number): number[] | number {
  const b = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    b.writeInt32LE(fd, 8 * i);
    b.writeInt16LE(POLLIN, 8 * i + 4);
  });
  const r = fail(lib().poll(b, fds.length, timeoutMs));
  if (r < 0) return r;
  return fds.map((_, i) => b.readInt16LE(8 * i + 6));
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

export const PIDFD_THREAD = 0o200; // O_EXCL

/** A pidfd for a process, or with PIDFD_THREAD for one thread (Linux 6.9+). */
export function pidfdOpen(pid: number, flags = 0): number {
  return fail(lib().syscall(SYS_pidfd_open, 'int', pid, 'unsigned int', flags));
}

/** A copy of another process's fd: the same open file description. */
export function pidfdGetfd(pidfd: number, fd: number): number {
  return fail(lib().syscall(SYS_pidfd_getfd, 'int', pidfd, 'int', fd, 'unsigned int', 0));
}

export { AT_FDCWD } from '../caller-memory/index.js';

/** newfstatat(2) into a 144-byte struct stat. */
export function newfstatat(dirfd: number, path: string, out: Buffer, flags: number): number {
  return fail(lib().syscall(SYS_newfstatat, 'int', dirfd, 'const char *', path, 'uint8_t *', out, 'int', flags));
}

/** statx(2) into a 256-byte struct statx. */
export function statx(dirfd: number, path: string, flags: number, mask: number, out: Buffer): number {
  return fail(lib().syscall(SYS_statx, 'int', dirfd, 'const char *', path, 'int', flags, 'unsigned int', mask, 'uint8_t *', out));
}

/** statfs(2) into a 120-byte struct statfs. */
export function statfs(path: string, out: Buffer): number {
  return fail(lib().syscall(SYS_statfs, 'const char *', path, 'uint8_t *', out));
}

/** ioctl(2) with a buffer argument; 0 or -errno. */
export function ioctlBuffer(fd: number, req: number, arg: Buffer): number {
  return fail(lib().ioctl(fd, req, arg));
}
