// /dev of the mount: kmsg, the emulated kernel log in /dev/kmsg record format,
// one record per read() as the kernel gives them (model/devkmsg.ts).

import { DevkmsgUser } from '../../model/index.js';
import type { KernelLog } from '../../model/index.js';
import { callerMemory } from '../../caller-memory/index.js';
import type { Caller } from '../caller.js';
import type { DeviceFile } from '../node.js';
import type { InodeTable } from '../tree.js';

const O_NONBLOCK = 0o4000;

/** One open of dev/kmsg. */
class KmsgFile implements DeviceFile {
  private readonly user: DevkmsgUser;
  /** the file position the next read should come at; any other means the reader seeked */
  private pos = 0;
  private comm: string;

  constructor(klog: KernelLog, caller: Caller) {
    this.user = new DevkmsgUser(klog);
    this.comm = callerMemory.comm(caller.pid);
  }

  read(offset: number, size: number, _caller: Caller, flags: number): Buffer {
    // differs: FUSE passes lseek() on as the next offset only; back to 0 is read as SEEK_SET
    if (offset !== this.pos && offset === 0) this.user.seek('set');
    const out = this.user.read(size, (flags & O_NONBLOCK) !== 0);
    this.pos = offset + out.length;
    return out;
  }

  write(_offset: number, data: Buffer, caller: Caller): number {
    this.comm = callerMemory.comm(caller.pid);
    return this.user.write(data);
  }

  release(): void {
    this.user.release(this.comm);
  }
}

export function buildDevfs(table: InodeTable, klog: KernelLog): void {
  const dev = table.dirs(table.root, 'dev');
  table.device(dev, {
    name: 'kmsg',
    standsFor: 'char',
    mode: 0o644,
    direct: true,
    size: () => 0,
    openFile: (caller) => new KmsgFile(klog, caller),
  });
}
