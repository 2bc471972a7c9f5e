// Nodes of the synthetic tree, in filesystem terms: directories, text
// attributes (show/store), binary attributes, device-like files, symlinks.

import type { DirectBacking } from '../fs-types.js';
import type { Caller } from './caller.js';
import type { MmapIntent } from './mmap-intent.js';

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export interface IoctlCall {
  cmd: number;
  arg: bigint;
  input: Buffer;
  outSize: number;
}

/** A file whose bytes a worker thread can serve straight from a backing fd (the session's DirectBacking). */
export type FileBacking = DirectBacking;

interface NodeBase {
  ino: number;
  name: string;
  parent: DirNode | undefined;
  mode: number; // permission bits only
  /** owner and group when root changed them (chown); root's otherwise */
  uid?: number;
  gid?: number;
  /** set when the node left the tree: kernfs has no active reference left to give, open files get ENODEV */
  removed?: boolean;
}

export interface DirNode extends NodeBase {
  kind: 'dir';
  children: Map<string, VNode>;
}

export interface TextAttrNode extends NodeBase {
  kind: 'text';
  show?: () => string;
  /** gets at most one page, decoded latin1; throws a KernelError for bad input, as the kernel's store returns an errno; may wait (a removal) */
  store?: (text: string, caller: Caller) => void | Promise<void>;
  /** a debugfs seq_file rather than a sysfs attribute: no one-page limit, size 0 */
  seq?: boolean;
}

export interface BinAttrNode extends NodeBase {
  kind: 'bin';
  size: number;
  read?: (offset: number, size: number, caller: Caller) => Buffer;
  write?: (offset: number, data: Buffer, caller: Caller) => number;
  /** when set, opens are served from this fd by the data path (mmap works too) */
  backing?: () => FileBacking;
  /** the attribute's mmap method: throws the errno with which it refuses a mapping (mmap-intent.ts) */
  mmap?: (intent: MmapIntent) => void;
}

/** Per-open state of a device node: what one open file reads, writes and releases. */
export interface DeviceFile {
  read?(offset: number, size: number, caller: Caller, flags: number): Buffer | Promise<Buffer>;
  write?(offset: number, data: Buffer, caller: Caller, flags: number): number | Promise<number>;
  release?(): void;
  fsync?(): void;
  ioctl?(call: IoctlCall, caller: Caller): { result: number; output?: Buffer } | Promise<{ result: number; output?: Buffer }>;
  /** where the data path can serve this open file from; may appear after the first read */
  backing?(): FileBacking | undefined;
  /** fallocate(2) on a block-device stand-in */
  fallocate?(offset: number, length: number, mode: number): void;
  /** the device's mmap method, run when the caller maps this open file (mmap-intent.ts): throws to refuse */
  mmap?(intent: MmapIntent, caller: Caller): void;
}

/**
 * What the kernel would have at this path: a block device or a character
 * device (the open-flag, truncate and fallocate rules of fs/open.c and
 * fs/namei.c differ per type); absent: a sysfs or debugfs file.
 */
export type DeviceType = 'block' | 'char';

export interface DeviceNode extends NodeBase {
  kind: 'device';
  standsFor?: DeviceType;
  size: () => number;
  /** bypass the page cache for plain reads/writes */
  direct: boolean;
  read?: (offset: number, size: number, caller: Caller) => Buffer | Promise<Buffer>;
  write?: (offset: number, data: Buffer, caller: Caller) => number | Promise<number>;
  ioctl?: (call: IoctlCall, caller: Caller) => { result: number; output?: Buffer } | Promise<{ result: number; output?: Buffer }>;
  backing?: () => FileBacking;
  /** each LOOKUP yields a new node id, so every open gets its own page cache */
  freshPerLookup?: boolean;
  /** per-open state; `ino` is the node id the kernel opened (fresh per lookup when freshPerLookup) */
  openFile?: (caller: Caller, ino: number) => DeviceFile;
}

export interface SymlinkNode extends NodeBase {
  kind: 'symlink';
  target: string;
}

export type VNode = DirNode | TextAttrNode | BinAttrNode | DeviceNode | SymlinkNode;
