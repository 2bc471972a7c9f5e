// Which process is our daemon: a pid alone is not an identity (pids are
// reused), so a record keeps the pid with the process's start time
// (/proc/PID/stat field 22, clock ticks since boot) and command line. A
// signal goes through a pidfd opened before the identity is checked, so it
// can only reach the process that was checked, never a successor on its pid.

import { closeSync } from 'node:fs';
import { callerMemory } from '../caller-memory/index.js';
import { constants } from 'node:os';
import koffi from 'koffi';

export interface ProcessIdentity {
  pid: number;
  /** field 22 of /proc/PID/stat */
  startTime: string;
  /** /proc/PID/cmdline, argument by argument */
  cmdline: string[];
}

/** The identity of a live process (undefined when gone or a zombie). */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const id = callerMemory.identity(pid);
  return id && { pid, ...id };
}

export function ownIdentity(): ProcessIdentity {
  return identityOf(process.pid)!;
}

/** The same process as when `id` was taken: same pid, start time and command line. */
export function isSameProcess(id: ProcessIdentity): boolean {
  const now = identityOf(id.pid);
  return now !== undefined && now.startTime === id.startTime && now.cmdline.join('\0') === id.cmdline.join('\0');
}

const SYS_PIDFD_SEND_SIGNAL = 424; // the same number on every architecture (since 5.1)
const SYS_PIDFD_OPEN = 434; // since 5.3
let syscall: ((nr: number, ...args: unknown[]) => number) | undefined;

/**
 * Sends `signal` to the process `id` names, only if it is still that process.
 * Returns false (and signals nobody) when it is gone or its pid now belongs to
 * another process.
 */
export function signalProcess(id: ProcessIdentity, signal: NodeJS.Signals): boolean {
  syscall ??= koffi.load('libc.so.6').func('long syscall(long nr, ...)') as (nr: number, ...args: unknown[]) => number;
  const pidfd = syscall(SYS_PIDFD_OPEN, 'int', id.pid, 'unsigned int', 0);
  if (pidfd < 0) return false;
  try {
    // checked after the pidfd is open: the pidfd cannot follow the pid to a newcomer
    if (!isSameProcess(id)) return false;
    const signo = constants.signals[signal];
    return syscall(SYS_PIDFD_SEND_SIGNAL, 'int', pidfd, 'int', signo, 'void *', null, 'unsigned int', 0) === 0;
  } finally {
    closeSync(pidfd);
  }
}
