// Answers that go into a caller's memory, as an ioctl handler's put_user()
// and copy_to_user() put them: page protections honoured, all or nothing.
// /proc/PID/mem would ignore protections (it writes into read-only and
// PROT_NONE pages and into a program's text), so the check is made against
// /proc/PID/maps first and the bytes go through process_vm_writev(2), which
// refuses what the process itself could not write. The call runs off the main
// thread (koffi async): a page of a mapping served by this very mount must be
// able to fault in while it waits.

import { kernelError } from '../errno.js';
import { callerMemory, type CallerMemory } from './caller-memory.js';
import { writeProcessAsync } from './process-vm.js';

/** the end of a process's address space with 4-level page tables (TASK_SIZE_MAX, x86_64) */
const TASK_SIZE = 2 ** 47 - 4096;

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
  const written = await writeProcessAsync(pid, addr, data);
  // short only if the mapping changed under us (the check above passed)
  if (written !== data.length) throw fault();
}
