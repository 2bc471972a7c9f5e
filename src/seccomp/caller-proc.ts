// What the supervisor reads about a calling thread from /proc: the path that
// stands for its file descriptors, working directory and root (magic links the
// supervisor can walk as the caller would), its fds' open flags, strings and
// buffers in its memory. The one place the supervisor touches /proc/TID (to be
// folded into caller-memory when that module lands).

import { readFileSync, readlinkSync } from 'node:fs';
import { readProcessMemory, tgidOf } from '../proc.js';
import { AT_FDCWD, writeProcess } from './native.js';

const PAGE = 4096;
const PATH_MAX = 4096;

/**
 * A path the supervisor can use for "PATH relative to DIRFD" as the thread
 * `tid` would resolve it; with an empty path, the file DIRFD itself.
 */
export function pathAt(tid: number, dirfd: number, path: string): string {
  if (path === '') return dirfd === AT_FDCWD ? `/proc/${tid}/cwd` : fdLink(tid, dirfd);
  if (path.startsWith('/')) return `/proc/${tid}/root${path}`;
  return `${dirfd === AT_FDCWD ? `/proc/${tid}/cwd` : fdLink(tid, dirfd)}/${path}`;
}

/** The magic link that opens (and stats) what the thread's fd refers to. */
export const fdLink = (tid: number, fd: number): string => `/proc/${tid}/fd/${fd}`;

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
    const m = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/${tid}/fdinfo/${fd}`, 'utf8'));
    return m ? parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

/** A NUL-terminated string in the caller's memory, read page by page so that an unmapped next page does not matter. */
export function readCString(tid: number, addr: bigint): string | undefined {
  const parts: Buffer[] = [];
  let at = Number(addr);
  let total = 0;
  while (total < PATH_MAX) {
    const chunk = Math.min(PAGE - (at % PAGE), PATH_MAX - total);
    const b = readProcessMemory(tid, at, chunk);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    if (nul >= 0) {
      parts.push(b.subarray(0, nul));
      return Buffer.concat(parts).toString('utf8');
    }
    parts.push(b);
    total += chunk;
    at += chunk;
  }
  return undefined; // ENAMETOOLONG: the kernel's own call will say so
}

/** Writes a result into the caller's memory, as the kernel's copy_to_user would (protections honoured). */
export function writeCaller(tid: number, addr: bigint, data: Buffer): boolean {
  return writeProcess(tid, addr, data);
}

export { tgidOf };
