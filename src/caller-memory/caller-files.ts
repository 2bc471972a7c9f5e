// What the seccomp supervisor of `p2pemu run` reads about a calling thread:
// the paths that stand for its file descriptors, working directory and root
// (magic links the supervisor can walk as the caller would), its fds' open
// flags, and strings and buffers in its memory.

import { readFileSync, readlinkSync } from 'node:fs';
import { callerMemory } from './caller-memory.js';
import { readProcess, writeProcess } from './process-vm.js';

/** openat(2)'s "relative to the working directory" */
export const AT_FDCWD = -100;

const PATH_MAX = 4096;

/**
 * A path the supervisor can use for "PATH relative to DIRFD" as the thread
 * `tid` would resolve it; with an empty path, the file DIRFD itself.
 */
export function pathAt(tid: number, dirfd: number, path: string): string {
  const proc = callerMemory.root;
  if (path === '') return dirfd === AT_FDCWD ? `${proc}/${tid}/cwd` : fdLink(tid, dirfd);
  if (path.startsWith('/')) return `${proc}/${tid}/root${path}`;
  return `${dirfd === AT_FDCWD ? `${proc}/${tid}/cwd` : fdLink(tid, dirfd)}/${path}`;
}

/** The magic link that opens (and stats) what the thread's fd refers to. */
export const fdLink = (tid: number, fd: number): string => `${callerMemory.root}/${tid}/fd/${fd}`;

/** The path an fd was opened by, as the caller's mount namespace names it (the supervisor shares it). */
export function fdTarget(tid: number, fd: number): string | undefined {
  try {
    return readlinkSync(fdLink(tid, fd));
  } catch {
    return undefined;
  }
}

/** The open flags of a thread's fd (fdinfo "flags:", octal), undefined when it is gone. */
export function fdFlags(tid: number, fd: number): number | undefined {
  try {
    const m = /^flags:\s+([0-7]+)/m.exec(readFileSync(`${callerMemory.root}/${tid}/fdinfo/${fd}`, 'utf8'));
    return m ? parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

const stringBuf = Buffer.alloc(PATH_MAX);

/** A NUL-terminated string in the caller's memory (process_vm_readv stops at an unmapped page, which is fine before the NUL). */
export function readCString(tid: number, addr: bigint): string | undefined {
  const n = readProcess(tid, addr, stringBuf);
  if (n <= 0) return undefined;
  const nul = stringBuf.subarray(0, n).indexOf(0);
  // no NUL within PATH_MAX (ENAMETOOLONG) or before a fault (EFAULT): the kernel's own call will say so
  return nul < 0 ? undefined : stringBuf.toString('utf8', 0, nul);
}

/** Writes a result into the caller's memory, as the kernel's copy_to_user would (protections honoured). */
export function writeCaller(tid: number, addr: bigint, data: Buffer): boolean {
  return writeProcess(tid, addr, data);
}
