// Facts about processes from /proc (a leaf module, usable from every layer).

import { readFileSync } from 'node:fs';

/** True while the process runs; a zombie (exited, not yet reaped, as under a PID 1 that never reaps) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
