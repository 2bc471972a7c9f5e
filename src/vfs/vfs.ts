// The tree as a filesystem: lookup, attributes, open/read/write/ioctl, with the
// permission rules of kernfs (a file without store cannot be opened for write,
// one without show cannot be opened for read, whoever asks).

import { kernelError } from '../errno.js';
import type {
  Attr,
  DirEntry,
  Entry,
  FuseFilesystem,
  IoctlRequest,
  IoctlResult,
  DataPathShared,
  NameChange,
  OpenIntent,
  SetattrRequest,
  StatfsResult,
  TruncateCause,
} from '../fs-types.js';
import { isPrivileged, type Caller } from './caller.js';
import { decodeMmapIntent, P2PEMU_IOC_MMAP_INTENT } from './mmap-intent.js';
import { S_IFDIR, S_IFLNK, S_IFREG, type DeviceFile, type DirNode, type VNode } from './node.js';
import { pathOf, type InodeTable } from './tree.js';
import { sliceAt } from './command-file.js';
import { NOT_MOUNTED, type MountPort } from './mount-port.js';

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_DIRECT = 0o40000;
const PAGE_SIZE = 4096;

/** How long a store that changed the tree waits at most for the kernel to forget the changed names. */
const NAMES_SETTLE_MS = 2000;

/** How long the kernel may cache names and attributes of the (mostly static) tree. */
export const STATIC_TIMEOUT_S = 1;

interface OpenText {
  node: VNode;
  text?: Buffer;
  file?: DeviceFile;
}

// kernel: may_open() drops O_TRUNC for devices; do_sys_ftruncate() and vfs_truncate() refuse anything but a regular file
/** Size changes: kernfs accepts and ignores them; a device ignores the O_TRUNC of an open and refuses truncate. */
function truncateCheck(n: VNode, cause: TruncateCause): void {
  if (n.kind === 'dir') throw kernelError('EISDIR', 'is a directory');
  if (n.kind === 'device' && n.standsFor !== undefined && cause !== 'open') throw kernelError('EINVAL', 'a device cannot be truncated');
}

// kernel: kernfs_get_active(), fs/kernfs/dir.c
/** An attribute whose node left the tree has no active reference: reads and writes through old opens fail. */
function activeOrThrow(n: VNode): void {
  if (n.removed) throw kernelError('ENODEV', `${n.name} was removed`);
}

export class Vfs implements FuseFilesystem {
  private readonly mountTimeMs = Date.now();
  /** lookup counts of nodes created per lookup (fresh identities), released at FORGET */
  private readonly freshLookups = new Map<number, number>();
  /** the tree node a fresh-per-lookup copy came from, so a chmod of the copy outlives it */
  private readonly freshOrigin = new Map<number, VNode>();

  /** the mount this tree is served on (the daemon connects it once mounted) */
  port: MountPort = NOT_MOUNTED;
  /** name invalidations not yet done: a store that removed a device waits for them, as remove is synchronous in the kernel */
  private readonly pendingInvals = new Set<Promise<void>>();
  /** open handles of per-open device files, so a file can be revoked */
  private readonly openFiles = new Map<DeviceFile, OpenText>();

  /**
   * @param dataPath the memory the tree shares with the data path threads (the
   *   P2P-mapping count that routes O_DIRECT here, and the counters they keep)
   */
  constructor(
    readonly table: InodeTable,
    readonly dataPath?: DataPathShared,
  ) {}

  connect(port: MountPort): void {
    this.port = port;
  }

  describe(nodeid: number): string | undefined {
    const n = this.table.get(nodeid);
    return n ? pathOf(n) : undefined;
  }

  /** The data path stops serving this open file; its next reads and writes come to its own methods. */
  revokeBacking(file: DeviceFile): void {
    const h = this.openFiles.get(file);
    if (h) this.port.stopServing(h);
  }

  /** Removes a subtree and drops the kernel's cached name for it. */
  remove(node: VNode): void {
    const parent = node.parent;
    this.table.unlink(node);
    if (parent) this.invalidateEntry(parent.ino, node.name);
  }

  /** Links a node added after mounting and drops any cached negative lookup of its name. */
  added(parent: DirNode, name: string): void {
    this.invalidateEntry(parent.ino, name);
  }

  private invalidateEntry(parentIno: number, name: string): void {
    const p = this.port.invalidateEntry(parentIno, name);
    this.pendingInvals.add(p);
    void p.finally(() => this.pendingInvals.delete(p));
  }

  /** Resolves once every name dropped so far is gone from the kernel's cache (waiting NAMES_SETTLE_MS at most). */
  private async namesSettled(): Promise<void> {
    const deadline = Date.now() + NAMES_SETTLE_MS;
    while (this.pendingInvals.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all([...this.pendingInvals]), new Promise((r) => setTimeout(r, deadline - Date.now()).unref())]);
    }
  }

  private attrOf(ino: number, n: VNode): Attr {
    const base = { ino, nlink: 1, uid: n.uid ?? 0, gid: n.gid ?? 0, rdev: 0, blksize: PAGE_SIZE, blocks: 0, mtimeMs: this.mountTimeMs };
    switch (n.kind) {
      case 'dir': {
        let subdirs = 0;
        for (const c of n.children.values()) if (c.kind === 'dir') subdirs++;
        return { ...base, mode: S_IFDIR | n.mode, size: 0, nlink: 2 + subdirs };
      }
      // sysfs text attributes all claim one page; debugfs files size 0
      case 'text':
        return { ...base, mode: S_IFREG | n.mode, size: n.seq ? 0 : PAGE_SIZE };
      case 'bin':
        return { ...base, mode: S_IFREG | n.mode, size: n.size };
      case 'device':
        return { ...base, mode: S_IFREG | n.mode, size: n.size() };
      case 'symlink':
        // kernfs gives links no size
        return { ...base, mode: S_IFLNK | 0o777, size: 0 };
    }
  }

  private entry(ino: number, n: VNode): Entry {
    const fresh = n.kind === 'device' && n.freshPerLookup === true;
    const timeout = fresh ? 0 : STATIC_TIMEOUT_S;
    return { nodeid: ino, attr: this.attrOf(ino, n), entryTimeout: timeout, attrTimeout: timeout };
  }

  lookup(parent: number, name: string, _caller: Caller): Entry {
    const dir = this.table.getOrThrow(parent);
    if (dir.kind !== 'dir') throw kernelError('ENOTDIR', `lookup ${name} in a non-directory`);
    const n = dir.children.get(name);
    if (!n) throw kernelError('ENOENT', `no entry ${name}`);
    if (n.kind === 'device' && n.freshPerLookup) {
      const ino = this.table.registerDetached({ ...n });
      this.freshLookups.set(ino, 1);
      this.freshOrigin.set(ino, n);
      return this.entry(ino, n);
    }
    return this.entry(n.ino, n);
  }

  forget(nodeid: number, nlookup: number): void {
    const left = this.freshLookups.get(nodeid);
    if (left === undefined) return;
    if (left - nlookup > 0) {
      this.freshLookups.set(nodeid, left - nlookup);
    } else {
      this.freshLookups.delete(nodeid);
      this.freshOrigin.delete(nodeid);
      this.table.release(nodeid);
    }
  }

  getattr(nodeid: number): { attr: Attr; timeout: number } {
    const n = this.table.getOrThrow(nodeid);
    const e = this.entry(nodeid, n);
    return { attr: e.attr, timeout: e.attrTimeout };
  }

  setattr(nodeid: number, req: SetattrRequest, _caller: Caller): { attr: Attr; timeout: number } {
    const n = this.table.getOrThrow(nodeid);
    // kernel: kernfs_setattr(), fs/kernfs/inode.c: the node keeps the new mode bits and owner (the
    // kernel's FUSE module has already checked that the caller may, default_permissions)
    for (const target of [n, this.freshOrigin.get(nodeid)]) {
      if (!target) continue;
      if (req.mode !== undefined && target.kind !== 'symlink') target.mode = req.mode & 0o7777;
      if (req.uid !== undefined) target.uid = req.uid;
      if (req.gid !== undefined) target.gid = req.gid;
    }
    if (req.size !== undefined) truncateCheck(n, req.truncateCause ?? 'path');
    // the size in the reply is the node's own: the kernel keeps it and its page cache
    return this.getattr(nodeid);
  }

  readlink(nodeid: number): string {
    const n = this.table.getOrThrow(nodeid);
    if (n.kind !== 'symlink') throw kernelError('EINVAL', 'not a symlink');
    return n.target;
  }

  open(nodeid: number, flags: number, _caller: Caller): OpenIntent {
    const n = this.table.getOrThrow(nodeid);
    // kernel: do_dentry_open(), fs/open.c: only files with FMODE_CAN_ODIRECT (block devices here) take O_DIRECT
    if (flags & O_DIRECT && !(n.kind === 'device' && n.standsFor === 'block')) throw kernelError('EINVAL', 'O_DIRECT is not supported by this file');
    const acc = flags & O_ACCMODE;
    const wantsWrite = acc === O_WRONLY || acc === O_RDWR;
    const wantsRead = acc !== O_WRONLY;
    switch (n.kind) {
      case 'dir':
        throw kernelError('EISDIR', 'is a directory');
      case 'symlink':
        throw kernelError('ELOOP', 'symlink');
      case 'text':
        // kernfs_fop_open: the mode bits and the presence of show/store both gate the open
        if (wantsWrite && (!n.store || (n.mode & 0o222) === 0)) throw kernelError('EACCES', 'attribute is read-only');
        if (wantsRead && (!n.show || (n.mode & 0o444) === 0)) throw kernelError('EACCES', 'attribute is write-only');
        return { direct: true, handle: { node: n } satisfies OpenText };
      case 'bin': {
        if (wantsWrite && (!(n.write || n.backing) || (n.mode & 0o222) === 0)) throw kernelError('EACCES', 'attribute is read-only');
        if (wantsRead && (!(n.read || n.backing) || (n.mode & 0o444) === 0)) throw kernelError('EACCES', 'attribute is write-only');
        if (n.backing) return { backing: n.backing(), handle: { node: n } };
        return { direct: true, handle: { node: n } };
      }
      case 'device': {
        if (n.openFile) {
          const file = n.openFile(_caller, nodeid);
          const handle: OpenText = { node: n, file };
          this.openFiles.set(file, handle);
          return { backing: file.backing?.(), direct: n.direct, handle };
        }
        if (n.backing) return { backing: n.backing(), direct: n.direct, handle: { node: n } };
        return { direct: n.direct, handle: { node: n } };
      }
    }
  }

  read(nodeid: number, handle: unknown, offset: number, size: number, caller: Caller, flags = 0): Buffer | Promise<Buffer> {
    const h = handle as OpenText | undefined;
    const n = h?.node ?? this.table.getOrThrow(nodeid);
    switch (n.kind) {
      case 'text': {
        // Like a seq_file: show() runs once per open, later reads continue in that text.
        if (!h!.text) {
          activeOrThrow(n);
          h!.text = Buffer.from(n.show!());
        }
        // a sysfs show() fills one page; a debugfs seq_file grows its buffer as needed
        return sliceAt(h!.text, offset, size, n.seq ? h!.text.length : PAGE_SIZE);
      }
      case 'bin': {
        activeOrThrow(n);
        if (offset >= n.size) return Buffer.alloc(0);
        // kernfs_file_read_iter(): at most one page per read
        return n.read!(offset, Math.min(size, PAGE_SIZE, n.size - offset), caller);
      }
      case 'device':
        if (h?.file) {
          if (!h.file.read) throw kernelError('EINVAL', 'device does not support read');
          return h.file.read(offset, size, caller, flags);
        }
        if (!n.read) throw kernelError('EINVAL', 'device does not support read');
        return n.read(offset, size, caller);
      default:
        throw kernelError('EISDIR', 'not a file');
    }
  }

  write(nodeid: number, handle: unknown, offset: number, data: Buffer, caller: Caller, flags = 0): number | Promise<number> {
    const h = handle as OpenText | undefined;
    const n = h?.node ?? this.table.getOrThrow(nodeid);
    switch (n.kind) {
      case 'text': {
        if (!n.store) throw kernelError('EACCES', 'attribute is read-only');
        activeOrThrow(n);
        // sysfs_kf_write(): nothing to store, nothing stored
        if (data.length === 0) return 0;
        // kernfs_fop_write_iter(): store() gets the first page and the write takes that much;
        // a write at an offset still goes to store()
        const page = data.subarray(0, PAGE_SIZE);
        const done = n.store(page.toString('latin1'), caller);
        // a store that removed or added files (remove, rescan, unbind) returns after the names are dropped
        if (done instanceof Promise) return done.then(() => this.namesSettled()).then(() => page.length);
        return this.pendingInvals.size > 0 ? this.namesSettled().then(() => page.length) : page.length;
      }
      case 'bin':
        activeOrThrow(n);
        // sysfs_kf_bin_write(): at or past the end is EFBIG, a missing write op EIO, one page per write
        if (offset >= n.size) throw kernelError('EFBIG', `offset ${offset} is at or past the end (${n.size} bytes)`);
        if (data.length === 0) return 0;
        if (!n.write) throw kernelError('EIO', 'attribute cannot be written');
        return n.write(offset, data.subarray(0, Math.min(PAGE_SIZE, n.size - offset)), caller);
      case 'device':
        if (h?.file) {
          if (!h.file.write) throw kernelError('EINVAL', 'device does not support write');
          return h.file.write(offset, data, caller, flags);
        }
        if (!n.write) throw kernelError('EINVAL', 'device does not support write');
        return n.write(offset, data, caller);
      default:
        throw kernelError('EISDIR', 'not a file');
    }
  }

  flush(): void {}

  fsync(_nodeid: number, handle: unknown): void {
    (handle as OpenText | undefined)?.file?.fsync?.();
  }

  release(_nodeid: number, handle: unknown): void {
    const file = (handle as OpenText | undefined)?.file;
    if (!file) return;
    this.openFiles.delete(file);
    file.release?.();
  }

  /** A backing that appeared during a read (an allocation sized at its first fault). */
  lateBacking(handle: unknown) {
    return (handle as OpenText | undefined)?.file?.backing?.();
  }

  opendir(nodeid: number): void {
    const n = this.table.getOrThrow(nodeid);
    if (n.kind !== 'dir') throw kernelError('ENOTDIR', 'not a directory');
  }

  readdir(nodeid: number): DirEntry[] {
    const n = this.table.getOrThrow(nodeid);
    if (n.kind !== 'dir') throw kernelError('ENOTDIR', 'not a directory');
    const out: DirEntry[] = [
      { name: '.', ino: n.ino, mode: S_IFDIR },
      { name: '..', ino: n.parent?.ino ?? n.ino, mode: S_IFDIR },
    ];
    // by entry name: a file may stand under two names (tree.ts alias)
    for (const [name, c] of n.children) {
      out.push({ name, ino: c.ino, mode: c.kind === 'dir' ? S_IFDIR : c.kind === 'symlink' ? S_IFLNK : S_IFREG });
    }
    return out;
  }

  access(nodeid: number): void {
    this.table.getOrThrow(nodeid);
  }

  statfs(): StatfsResult {
    // sysfs reports zeros except the block size and name length
    return { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: PAGE_SIZE, namelen: 255 };
  }

  // kernel: vfs_fallocate(), fs/open.c
  fallocate(nodeid: number, handle: unknown, offset: number, length: number, mode: number): void {
    const n = (handle as OpenText | undefined)?.node ?? this.table.getOrThrow(nodeid);
    if (n.kind !== 'device' || n.standsFor === undefined) throw kernelError('EOPNOTSUPP', 'sysfs files have no fallocate');
    if (n.standsFor === 'char') throw kernelError('ENODEV', 'fallocate on a character device');
    const file = (handle as OpenText | undefined)?.file;
    if (!file?.fallocate) throw kernelError('EOPNOTSUPP', 'this device does not fallocate');
    file.fallocate(offset, length, mode);
  }

  // kernel: kernfs has no create (lookup_open(): EACCES) and refuses mkdir, unlink, rename, link, symlink and mknod with EPERM
  changeName(op: NameChange, _parent: number, name: string): never {
    throw kernelError(op === 'create' ? 'EACCES' : 'EPERM', `${op} ${name}: the tree is the kernel's`);
  }

  ioctl(nodeid: number, handle: unknown, req: IoctlRequest, caller: Caller): IoctlResult | Promise<IoctlResult> {
    const h = handle as OpenText | undefined;
    const n = h?.node ?? this.table.getOrThrow(nodeid);
    if (req.cmd === P2PEMU_IOC_MMAP_INTENT) return this.mmapIntent(n, h, req, caller);
    if (h?.file?.ioctl) return h.file.ioctl(req, caller);
    if (n.kind !== 'device' || !n.ioctl) throw kernelError('ENOTTY', `ioctl 0x${req.cmd.toString(16)} not supported`);
    return n.ioctl(req, caller);
  }

  // kernel: kernfs_fop_mmap(), fs/kernfs/file.c: a sysfs file without an mmap method refuses with ENODEV
  /** An mmap() of this open file is about to happen (under `p2pemu run`): the file's mmap method decides now. */
  private mmapIntent(n: VNode, h: OpenText | undefined, req: IoctlRequest, caller: Caller): IoctlResult {
    if (!isPrivileged(caller)) throw kernelError('EPERM', 'mmap intents are for the p2pemu run supervisor');
    const intent = decodeMmapIntent(req);
    // sysfs files (device stand-ins aside) lose their mmap with their node, as kernfs_get_active() fails
    if (n.kind !== 'device' || n.standsFor === undefined) activeOrThrow(n);
    if (n.kind === 'text' || (n.kind === 'bin' && !n.backing)) throw kernelError('ENODEV', 'this attribute has no mmap');
    if (n.kind === 'bin') n.mmap?.(intent);
    else if (n.kind === 'device') h?.file?.mmap?.(intent, caller);
    return { result: 0 };
  }
}
