// Which processes keep a mount busy: a working directory, root directory,
// executable, open file or mapped file under it. Read from /proc link texts
// and maps lines only, so asking never touches the mount itself (a request
// to a hung daemon would hang the asker).

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { CallerMemory } from './caller-memory.js';

export interface MountUser {
  pid: number;
  comm: string;
  /** what holds the mount: cwd, root, exe, fd N, map */
  how: string[];
}

function under(path: string, mountpoint: string): boolean {
  const p = path.replace(/ \(deleted\)$/, '');
  return p === mountpoint || p.startsWith(mountpoint === '/' ? '/' : `${mountpoint}/`);
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The processes (other than this one) using files under `mountpoint`, by pid. */
export function mountUsers(mem: CallerMemory, mountpoint: string): MountUser[] {
  const out: MountUser[] = [];
  for (const name of readdirSync(mem.root)) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const dir = `${mem.root}/${name}`;
    const how: string[] = [];
    for (const what of ['cwd', 'root', 'exe']) {
      const target = link(`${dir}/${what}`);
      if (target !== undefined && under(target, mountpoint)) how.push(what);
    }
    let fds: string[] = [];
    try {
      fds = readdirSync(`${dir}/fd`);
    } catch {
      /* gone, or not ours to see */
    }
    for (const fd of fds) {
      const target = link(`${dir}/fd/${fd}`);
      if (target !== undefined && under(target, mountpoint)) how.push(`fd ${fd}`);
    }
    try {
      // start-end perms offset dev inode path
      const maps = readFileSync(`${dir}/maps`, 'utf8');
      if (maps.split('\n').some((l) => under(l.split(/\s+/).slice(5).join(' '), mountpoint))) how.push('map');
    } catch {
      /* gone */
    }
    if (how.length === 0) continue;
    out.push({ pid: Number(name), comm: mem.comm(Number(name)), how });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** "123 (bash: cwd), 456 (python3: fd 3, map)" */
export function formatMountUsers(users: MountUser[]): string {
  return users.map((u) => `${u.pid} (${u.comm}: ${u.how.join(', ')})`).join(', ');
}
