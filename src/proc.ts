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

export interface FileMapping {
  start: number;
  end: number;
  /** "rw-s": the last letter is s for MAP_SHARED, p for MAP_PRIVATE */
  perms: string;
  offset: number;
}

/**
 * The mappings of one file (device "MM:mm" in hex as /proc/PID/maps prints it,
 * and inode number) in a task's address space. Works for thread ids too.
 */
export function fileMappings(tid: number, dev: string, ino: number): FileMapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${tid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const out: FileMapping[] = [];
  const inoText = String(ino);
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode path
    const f = line.split(/\s+/, 6);
    if (f[3] !== dev || f[4] !== inoText) continue;
    const [start, end] = f[0]!.split('-').map((h) => parseInt(h, 16));
    out.push({ start: start!, end: end!, perms: f[1]!, offset: parseInt(f[2]!, 16) });
  }
  return out;
}

export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return `pid ${pid}`;
  }
}

/** The syscall number a blocked task is in, -1 when it is not in a syscall (a page fault), undefined if unknown. */
export function currentSyscall(tid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${tid}/syscall`, 'utf8').split(' ')[0]!;
    return first === 'running' ? undefined : Number(first);
  } catch {
    return undefined;
  }
}

/** The thread group (process) id of a task id. */
export function tgidOf(tid: number): number {
  try {
    const m = /^Tgid:\s+(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m ? Number(m[1]) : tid;
  } catch {
    return tid;
  }
}
