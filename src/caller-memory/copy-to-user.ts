// Answers that go into a caller's memory, as an ioctl handler's put_user()
// and copy_to_user() put them: page protections honoured, all or nothing.
// /proc/PID/mem would ignore protections (it writes into read-only and
// PROT_NONE pages and into a program's text), so the check is made against
// /proc/PID/maps first and the bytes go through process_vm_writev(2), which
// refuses what the process itself could not write. The call runs off the main
// thread (koffi async): a page of a mapping served by this very mount must be
// able to fault in while it waits.

import koffi from 'koffi';
import { kernelError } from '../errno.js';
import { callerMemory, type CallerMemory } from './caller-memory.js';

/** the end of a process's address space with 4-level page tables (TASK_SIZE_MAX, x86_64) */
const TASK_SIZE = 2 ** 47 - 4096;

type ProcessVmWritev = ((...args: unknown[]) => number | bigint) & { async: (...args: unknown[]) => void };
let processVmWritev: ProcessVmWritev | undefined;

function lib(): ProcessVmWritev {
  if (!processVmWritev) {
    const libc = koffi.load('libc.so.6');
    koffi.struct('p2pemu_local_iovec', { iov_base: 'void *', iov_len: 'size_t' });
    koffi.struct('p2pemu_remote_iovec', { iov_base: 'uint64_t', iov_len: 'size_t' });
    processVmWritev = libc.func(
      'intptr_t process_vm_writev(int pid, const p2pemu_local_iovec *local, unsigned long liovcnt, const p2pemu_remote_iovec *remote, unsigned long riovcnt, unsigned long flags)',
    ) as unknown as ProcessVmWritev;
  }
  return processVmWritev;
}

/** Is every byte of [start, end) in a writable mapping of the process? */
export function userRangeWritable(pid: number, start: number, end: number, mem: CallerMemory = callerMemory): boolean {
  let at = start;
  for (const v of mem.vmas(pid)) {
    if (v.end <= at) continue;
    if (v.start > at || v.perms[1] !== 'w') return false;
    at = v.end;
    if (at >= end) return true;
  }
  return at >= end;
}

// kernel: copy_to_user(), include/linux/uaccess.h
/** Writes `data` at `addr` in process `pid`, or fails with EFAULT having written nothing. */
export async function copyToUser(pid: number, addr: bigint, data: Buffer, mem: CallerMemory = callerMemory): Promise<void> {
  const start = Number(addr);
  const fault = () => kernelError('EFAULT', `0x${addr.toString(16)} (+${data.length}) is not writable memory of process ${pid}`);
  if (addr > BigInt(TASK_SIZE) || start + data.length > TASK_SIZE || !userRangeWritable(pid, start, start + data.length, mem)) throw fault();
  if (data.length === 0) return;
  const written = await new Promise<number>((res, rej) =>
    lib().async(pid, { iov_base: data, iov_len: data.length }, 1, { iov_base: addr, iov_len: data.length }, 1, 0, (err: unknown, n: number | bigint) =>
      err ? rej(err) : res(Number(n)),
    ),
  );
  // short only if the mapping changed under us (the check above passed)
  if (written !== data.length) throw fault();
}
