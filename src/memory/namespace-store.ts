// Namespace contents: one sparse file per namespace in the state directory,
// kept across remounts. Writes are pwrite()s to these files before the reply,
// so a daemon killed with -9 loses nothing it acknowledged (the host's page
// cache still holds it); fsync of a namespace is fdatasync of its file.

import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { kernelError } from '../errno.js';

let nextId = 1_000_000; // apart from BAR backing ids

export interface NamespaceBacking {
  id: number;
  path: string;
  fd: number;
  size: number;
}

export class NamespaceStore {
  private readonly files: NamespaceBacking[] = [];

  constructor(readonly dir: string) {}

  open(key: string, size: number): NamespaceBacking {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, `${key}.img`);
    const fresh = !existsSync(path);
    const fd = openSync(path, fresh ? 'w+' : 'r+', 0o600);
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
