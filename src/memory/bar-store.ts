// Real shared memory behind every BAR: one sparse file per BAR on tmpfs, so
// processes (through the mount) and the daemon see the same bytes. A 32 GiB
// BAR costs nothing until it is written.

import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../proc.js';

export interface BarBacking {
  /** unique per backing file for the life of the daemon */
  id: number;
  path: string;
  fd: number;
  size: number;
}

let nextBackingId = 1;

export class BarStore {
  private readonly files = new Map<string, BarBacking>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** The backing of one BAR, created (empty, sparse) on first use. */
  get(bdf: string, bar: number, size: number): BarBacking {
    const key = `${bdf}-bar${bar}`;
    let b = this.files.get(key);
    if (!b) {
      const path = join(this.dir, key);
      const fd = openSync(path, 'w+', 0o600);
      ftruncateSync(fd, size);
      b = { id: nextBackingId++, path, fd, size };
      this.files.set(key, b);
    }
    return b;
  }

  all(): BarBacking[] {
    return [...this.files.values()];
  }

  /** Closes and deletes every backing file and the directory. */
  destroy(): void {
    for (const b of this.files.values()) {
      try {
        closeSync(b.fd);
      } catch {
        /* already closed */
      }
    }
    this.files.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Removes BAR directories left by daemons that no longer run (p2pemu-<pid>). */
export function removeStaleBarDirs(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^p2pemu-(\d+)$/.exec(name);
    if (!m) continue;
    if (!isAlive(Number(m[1]))) rmSync(join(parent, name), { recursive: true, force: true });
  }
}
