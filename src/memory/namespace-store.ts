// Namespace contents: one sparse file per namespace in the state directory,
// kept across remounts. Writes are pwrite()s to these files before the reply,
// so a daemon killed with -9 loses nothing it acknowledged (the host's page
// cache still holds it); fsync of a namespace is fdatasync of its file.
// The directory is root's alone and files are opened without following
// symlinks (safe-file.ts): a planted link never becomes a namespace.

import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { kernelError } from '../errno.js';
import { ensureRootOnlyDir, openRegular } from './safe-file.js';

let nextId = 1_000_000; // apart from BAR backing ids

export interface NamespaceBacking {
  id: number;
  path: string;
  fd: number;
  size: number;
}

const { O_RDWR, O_CREAT, O_EXCL } = constants;

/** Where namespace contents live, as the tree uses them. */
export interface NamespaceImages {
  open(key: string, size: number): NamespaceBacking;
  sync(b: NamespaceBacking): void;
}

export class NamespaceStore implements NamespaceImages {
  private readonly files: NamespaceBacking[] = [];
  private checked = false;

  constructor(readonly dir: string) {}

  open(key: string, size: number): NamespaceBacking {
    if (!this.checked) ensureRootOnlyDir(this.dir, 0o700);
    this.checked = true;
    const path = join(this.dir, `${key}.img`);
    let fd: number;
    let fresh = true;
    try {
      fd = openRegular(path, O_RDWR | O_CREAT | O_EXCL);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      fd = openRegular(path, O_RDWR);
      fresh = false;
    }
    const have = fstatSync(fd).size;
    if (fresh) ftruncateSync(fd, size);
    else if (have !== size) {
      closeSync(fd);
      throw kernelError('EINVAL', `namespace file ${path} holds ${have} bytes but the topology says ${size}: remove it or fix the topology`);
    }
    const b = { id: nextId++, path, fd, size };
    this.files.push(b);
    return b;
  }

  sync(b: NamespaceBacking): void {
    fdatasyncSync(b.fd);
  }

  close(): void {
    for (const b of this.files.splice(0)) {
      try {
        fdatasyncSync(b.fd);
        closeSync(b.fd);
      } catch {
        /* already closed */
      }
    }
  }
}
