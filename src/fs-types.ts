// The filesystem contract between the FUSE session and the tree it serves, in
// filesystem terms: node ids, attributes, open intents. A leaf module: the
// session (src/fuse) serves it, the tree (src/vfs) implements it.

export interface Caller {
  pid: number;
  uid: number;
  gid: number;
}

export interface Attr {
  ino: number;
  size: number;
  blocks: number;
  mode: number; // including S_IF* type bits
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  mtimeMs: number;
}

export interface Entry {
  nodeid: number;
  attr: Attr;
  /** seconds the kernel may cache the name → node binding (0: ask again every time) */
  entryTimeout: number;
  attrTimeout: number;
}

/** Where a worker thread can serve READ/WRITE for an open file without the main thread. */
export interface DirectBacking {
  /** identifies the backing file for as long as the daemon runs (fd numbers get reused) */
  id: number;
  fd: number;
  /** byte offset of the file's first byte in fd */
  offset: number;
  size: number;
  writable: boolean;
  /** block-device rules for O_DIRECT: offset and length must be multiples of this (0: no rule) */
  directAlign?: number;
  /** O_DIRECT requests go to the filesystem (not the data path) while DataPathShared.directCheck says so */
  checkDirect?: boolean;
  /** the data path counts what it serves in this slot of DataPathShared.counters */
  statsSlot?: number;
  /** a write at or past the end fails with EFBIG (kernfs binary attributes) instead of ENOSPC (block devices) */
  pastEndEfbig?: boolean;
}

export interface OpenIntent {
  /** bypass the page cache (text attributes whose content changes) */
  direct?: boolean;
  keepCache?: boolean;
  nonSeekable?: boolean;
  backing?: DirectBacking;
  /** opaque value handed back with every later request on this open file */
  handle?: unknown;
}

export interface DirEntry {
  name: string;
  ino: number;
  mode: number; // S_IF* type bits are enough
}

/** Who changed a file's size: open(O_TRUNC), truncate(path) or ftruncate(fd); the kernel treats them apart for devices. */
export type TruncateCause = 'open' | 'path' | 'fd';

export interface SetattrRequest {
  size?: number;
  /** set with size */
  truncateCause?: TruncateCause;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Calls that would change the directory tree itself (kernfs refuses all of them). */
export type NameChange = 'create' | 'mknod' | 'mkdir' | 'unlink' | 'rmdir' | 'rename' | 'link' | 'symlink';

export interface IoctlRequest {
  cmd: number;
  arg: bigint;
  input: Buffer;
  outSize: number;
  unrestricted: boolean;
}

export interface IoctlResult {
  result: number;
  output?: Buffer;
}

export interface StatfsResult {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
}

export type MaybePromise<T> = T | Promise<T>;

/** An O_DIRECT request on a checkDirect backing, as a data path thread asks its classifier about it. */
export interface DirectRequest {
  /** the backing's statsSlot */
  slot: number;
  /** the calling thread (the request header's pid) */
  tid: number;
  /** the node the request names (the file's inode number) */
  node: number;
  offset: number;
  /** the bytes the request moves (within the file) */
  len: number;
  write: boolean;
}

export type DirectVerdict =
  /** serve it from the backing, then call count() */
  | { kind: 'serve'; count(): void }
  /** answer with this errno */
  | { kind: 'refuse'; errno: number }
  /** the classifier cannot tell: the filesystem decides (the request goes to the main thread) */
  | { kind: 'main' };

/**
 * A module the data path threads load (by URL) to decide O_DIRECT requests on
 * checkDirect backings themselves while directCheck is set; it exports
 * `createDirectClassifier(data)`, which returns the function asked per request.
 */
export interface DirectClassifierSpec {
  module: string;
  /** handed to createDirectClassifier (structured-cloned: shared memory stays shared) */
  data: unknown;
}

export type CreateDirectClassifier = (data: unknown) => (req: DirectRequest) => DirectVerdict;

/**
 * Memory the filesystem shares with the data path threads: plain data, no
 * calls either way (the classifier runs in the threads, on shared memory).
 */
export interface DataPathShared {
  /** word 0: while non-zero, O_DIRECT on backings with checkDirect goes to the classifier, or to the filesystem without one */
  directCheck: Int32Array;
  /** four per stats slot: reads, writes, bytes read, bytes written that the data path served */
  counters: BigInt64Array;
  classifier?: DirectClassifierSpec;
}

/** Every method may throw a KernelError (or return a rejected promise); its errno becomes the reply. */
export interface FuseFilesystem {
  lookup(parent: number, name: string, caller: Caller): Entry;
  forget(nodeid: number, nlookup: number): void;
  getattr(nodeid: number, caller: Caller): { attr: Attr; timeout: number };
  setattr(nodeid: number, req: SetattrRequest, caller: Caller): { attr: Attr; timeout: number };
  readlink(nodeid: number): string;
  open(nodeid: number, flags: number, caller: Caller): OpenIntent;
  /** `flags` are the open flags of the file the request came through (O_DIRECT among them) */
  read(nodeid: number, handle: unknown, offset: number, size: number, caller: Caller, flags: number): MaybePromise<Buffer>;
  write(nodeid: number, handle: unknown, offset: number, data: Buffer, caller: Caller, flags: number): MaybePromise<number>;
  flush(nodeid: number, handle: unknown, caller: Caller): void;
  fsync(nodeid: number, handle: unknown, caller: Caller): MaybePromise<void>;
  release(nodeid: number, handle: unknown, caller: Caller): void;
  opendir(nodeid: number, caller: Caller): void;
  readdir(nodeid: number): DirEntry[];
  access(nodeid: number, mask: number, caller: Caller): void;
  statfs(): StatfsResult;
  ioctl(nodeid: number, handle: unknown, req: IoctlRequest, caller: Caller): MaybePromise<IoctlResult>;
  /** fallocate(2) with the kernel's FALLOC_FL_* mode bits */
  fallocate(nodeid: number, handle: unknown, offset: number, length: number, mode: number, caller: Caller): MaybePromise<void>;
  /** create, mkdir, unlink… in directory `parent`: always throws the errno the emulated filesystem gives */
  changeName(op: NameChange, parent: number, name: string, caller: Caller): never;
  /** After a READ served by the main thread: a backing the data path may use from now on. */
  lateBacking?(handle: unknown): DirectBacking | undefined;
  /** The node's path in the tree, for log lines about it (undefined when the node is gone). */
  describe?(nodeid: number): string | undefined;
  /** shared with the data path threads; absent: nothing routed, nothing counted */
  readonly dataPath?: DataPathShared;
}
