// MNT/sys/kernel/debug/p2pemu/dma_buf/<N>: one file per exported dma-buf, so
// a process on the mount can mmap it (an invented stand-in for the dma-buf fd
// an exporting driver hands out; native-notes/dmabuf.md). The mapping shows
// the exporter's BAR bytes. A real dma-buf mmap of MMIO is a PFN map
// (VM_PFNMAP|VM_IO); FUSE cannot make one, so the refusal is modelled where it
// bites: an O_DIRECT whose buffer lies in such a mapping fails with EFAULT, as
// GUP's check_vma_flags() makes it (model/nvme/map-data.ts).

import { kernelError } from '../../errno.js';
import { preadSync } from '../../memory/index.js';
import type { DmaBuf, DmaBufCore } from '../../model/index.js';
import type { DeviceFile, DeviceNode, FileBacking } from '../node.js';
import type { P2pmemContext } from '../sysfs/p2pmem-group.js';
import { p2pemuDebugDir } from './root.js';

/** One open of a dma-buf file: served from the exporter's BAR until the buffer is revoked. */
class DmaBufFile implements DeviceFile {
  constructor(
    private readonly ctx: P2pmemContext,
    private readonly core: DmaBufCore,
    private readonly buf: DmaBuf,
    private readonly opens: Set<DmaBufFile>,
  ) {
    // an open file holds the buffer, as a process's dma-buf fd does
    core.get(buf);
    opens.add(this);
  }

  release(): void {
    this.opens.delete(this);
    this.core.put(this.buf);
  }

  backing(): FileBacking | undefined {
    if (this.buf.revoked) return undefined;
    const a = this.buf.alloc;
    const bar = this.buf.exporter.bars.find((b) => b.index === a.bar)!;
    const store = this.ctx.bars.get(this.buf.exporter.bdf, a.bar, bar.size);
    return { id: store.id, fd: store.fd, offset: a.barOffset, size: a.size, writable: true };
  }

  read(offset: number, size: number): Buffer {
    // revoked: the exporter's remove() zapped the mapping; a later touch is a SIGBUS
    const b = this.backing();
    if (!b) throw kernelError('EIO', `dma-buf ${this.buf.id} was revoked`);
    const out = Buffer.alloc(Math.max(0, Math.min(size, b.size - offset)));
    if (out.length) preadSync(b.fd, out, b.offset + offset);
    return out;
  }
}

export function addDmabufFiles(ctx: P2pmemContext, core: DmaBufCore): void {
  const t = ctx.table;
  const dir = p2pemuDebugDir(t, 'dma_buf');
  const nodes = new Map<DmaBuf, { node: DeviceNode; opens: Set<DmaBufFile> }>();
  core.events.exported = (buf) => {
    const opens = new Set<DmaBufFile>();
    const node = t.device(dir, {
      name: String(buf.id),
      mode: 0o600,
      direct: false,
      size: () => buf.size,
      openFile: () => new DmaBufFile(ctx, core, buf, opens),
    });
    nodes.set(buf, { node, opens });
    ctx.mappings.set(node.ino, { kind: 'pfnmap', what: `a mapping of dma-buf ${buf.id} (exported by ${buf.exporter.bdf})` });
    ctx.vfs.added(dir, node.name);
  };
  // revoked with its exporter, or released with its last reference: the file goes
  const drop = (buf: DmaBuf) => {
    const n = nodes.get(buf);
    if (!n) return;
    nodes.delete(buf);
    ctx.mappings.set(n.node.ino, undefined);
    for (const f of n.opens) ctx.vfs.revokeBacking(f);
    void ctx.vfs.port.invalidateInode(n.node.ino).catch(() => undefined);
    ctx.vfs.remove(n.node);
  };
  core.events.revoked = drop;
  core.events.released = drop;
}
