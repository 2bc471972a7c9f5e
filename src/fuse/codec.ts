// Pure encoders and decoders for FUSE messages. Node ids, offsets and sizes
// stay below 2^53, so 64-bit fields are read as two 32-bit halves.

import {
  ATTR_OUT_SIZE,
  ATTR_SIZE,
  DIRENT_HEADER_SIZE,
  ENTRY_OUT_SIZE,
  IN_HEADER_SIZE,
  INIT_OUT_SIZE,
  IOCTL_OUT_SIZE,
  OPEN_OUT_SIZE,
  OUT_HEADER_SIZE,
  STATFS_OUT_SIZE,
  WRITE_OUT_SIZE,
} from './protocol.js';
import { writeOutHeader } from './reply.js';
import type { Attr, DirEntry, Entry, StatfsResult } from './types.js';

const TWO32 = 0x1_0000_0000;

export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO32;
}

export function writeU64(buf: Buffer, off: number, value: number): void {
  const v = value < 0 ? 0 : value;
  buf.writeUInt32LE(v % TWO32 >>> 0, off);
  buf.writeUInt32LE(Math.floor(v / TWO32) >>> 0, off + 4);
}

/** Signed 64-bit write, for offsets where -1 has a meaning. */
export function writeI64(buf: Buffer, off: number, value: number): void {
  buf.writeBigInt64LE(BigInt(value), off);
}

export interface InHeader {
  len: number;
  opcode: number;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
}

// struct fuse_in_header: len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding
export function decodeInHeader(buf: Buffer): InHeader {
  return {
    len: buf.readUInt32LE(0),
    opcode: buf.readUInt32LE(4),
    nodeid: readU64(buf, 16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
  };
}

export function encodeError(req: Buffer, errno: number): Buffer {
  const out = Buffer.alloc(OUT_HEADER_SIZE);
  writeOutHeader(out, OUT_HEADER_SIZE, errno, req);
  return out;
}

export function encodeReply(req: Buffer, payload: Buffer | undefined): Buffer {
  const len = OUT_HEADER_SIZE + (payload ? payload.length : 0);
  const out = Buffer.allocUnsafe(len);
  writeOutHeader(out, len, 0, req);
  if (payload) payload.copy(out, OUT_HEADER_SIZE);
  return out;
}

// kernel: fuse_fillattr() reads this; libfuse's convert_stat() is the usual filler.
export function fillAttr(buf: Buffer, off: number, a: Attr): void {
  const sec = Math.floor(a.mtimeMs / 1000);
  const nsec = Math.floor((a.mtimeMs % 1000) * 1e6);
  writeU64(buf, off, a.ino);
  writeU64(buf, off + 8, a.size);
  writeU64(buf, off + 16, a.blocks);
  writeU64(buf, off + 24, sec); // atime
  writeU64(buf, off + 32, sec); // mtime
  writeU64(buf, off + 40, sec); // ctime
  buf.writeUInt32LE(nsec, off + 48);
  buf.writeUInt32LE(nsec, off + 52);
  buf.writeUInt32LE(nsec, off + 56);
  buf.writeUInt32LE(a.mode >>> 0, off + 60);
  buf.writeUInt32LE(a.nlink, off + 64);
  buf.writeUInt32LE(a.uid, off + 68);
  buf.writeUInt32LE(a.gid, off + 72);
  buf.writeUInt32LE(a.rdev, off + 76);
  buf.writeUInt32LE(a.blksize, off + 80);
  buf.writeUInt32LE(0, off + 84);
}

export function decodeAttr(buf: Buffer, off: number): Attr {
  return {
    ino: readU64(buf, off),
    size: readU64(buf, off + 8),
    blocks: readU64(buf, off + 16),
    mtimeMs: readU64(buf, off + 32) * 1000 + Math.floor(buf.readUInt32LE(off + 52) / 1e6),
    mode: buf.readUInt32LE(off + 60),
    nlink: buf.readUInt32LE(off + 64),
    uid: buf.readUInt32LE(off + 68),
    gid: buf.readUInt32LE(off + 72),
    rdev: buf.readUInt32LE(off + 76),
    blksize: buf.readUInt32LE(off + 80),
  };
}

function splitTimeout(seconds: number): [number, number] {
  const whole = Math.floor(seconds);
  return [whole, Math.round((seconds - whole) * 1e9)];
}

// struct fuse_entry_out (fill_entry in libfuse)
export function fillEntry(buf: Buffer, off: number, e: Entry): void {
  const [es, ens] = splitTimeout(e.entryTimeout);
  const [as, ans] = splitTimeout(e.attrTimeout);
  writeU64(buf, off, e.nodeid);
  writeU64(buf, off + 8, 0); // generation
  writeU64(buf, off + 16, es);
  writeU64(buf, off + 24, as);
  buf.writeUInt32LE(ens, off + 32);
  buf.writeUInt32LE(ans, off + 36);
  fillAttr(buf, off + 40, e.attr);
}

export function encodeEntry(e: Entry): Buffer {
  const b = Buffer.alloc(ENTRY_OUT_SIZE);
  fillEntry(b, 0, e);
  return b;
}

export function encodeAttrOut(attr: Attr, timeout: number): Buffer {
  const b = Buffer.alloc(ATTR_OUT_SIZE);
  const [s, ns] = splitTimeout(timeout);
  writeU64(b, 0, s);
  b.writeUInt32LE(ns, 8);
  fillAttr(b, 16, attr);
  return b;
}

export function encodeOpenOut(fh: number, openFlags: number): Buffer {
  const b = Buffer.alloc(OPEN_OUT_SIZE);
  writeU64(b, 0, fh);
  b.writeUInt32LE(openFlags, 8);
  return b;
}

export function encodeWriteOut(size: number): Buffer {
  const b = Buffer.alloc(WRITE_OUT_SIZE);
  b.writeUInt32LE(size, 0);
  return b;
}

export function encodeStatfs(s: StatfsResult): Buffer {
  const b = Buffer.alloc(STATFS_OUT_SIZE);
  writeU64(b, 0, s.blocks);
  writeU64(b, 8, s.bfree);
  writeU64(b, 16, s.bavail);
  writeU64(b, 24, s.files);
  writeU64(b, 32, s.ffree);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(s.namelen, 44);
  b.writeUInt32LE(s.bsize, 48); // frsize
  return b;
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
}

export function decodeInitIn(body: Buffer): InitIn {
  return {
    major: body.readUInt32LE(0),
    minor: body.readUInt32LE(4),
    maxReadahead: body.readUInt32LE(8),
    flags: body.readUInt32LE(12),
    flags2: body.length >= 20 ? body.readUInt32LE(16) : 0,
  };
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
}

export function encodeInitOut(o: InitOut): Buffer {
  const b = Buffer.alloc(INIT_OUT_SIZE);
  b.writeUInt32LE(o.major, 0);
  b.writeUInt32LE(o.minor, 4);
  b.writeUInt32LE(o.maxReadahead, 8);
  b.writeUInt32LE(o.flags >>> 0, 12);
  b.writeUInt16LE(o.maxBackground, 16);
  b.writeUInt16LE(o.congestionThreshold, 18);
  b.writeUInt32LE(o.maxWrite, 20);
  b.writeUInt32LE(o.timeGran, 24);
  b.writeUInt16LE(o.maxPages, 28);
  b.writeUInt16LE(0, 30);
  b.writeUInt32LE(o.flags2 >>> 0, 32);
  return b;
}

function direntSize(nameLen: number): number {
  return (DIRENT_HEADER_SIZE + nameLen + 7) & ~7;
}

/**
 * Packs directory entries starting at index `from` into at most `maxSize` bytes,
 * like fuse_add_direntry: stops at the first entry that does not fit. The
 * offset of each entry is the index of the next one.
 */
export function encodeDirents(entries: DirEntry[], from: number, maxSize: number): Buffer {
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    const name = Buffer.from(e.name);
    const size = direntSize(name.length);
    if (used + size > maxSize) break;
    const b = Buffer.alloc(size);
    writeU64(b, 0, e.ino);
    writeU64(b, 8, i + 1);
    b.writeUInt32LE(name.length, 16);
    b.writeUInt32LE((e.mode >>> 12) & 0xf, 20);
    name.copy(b, 24);
    parts.push(b);
    used += size;
  }
  return Buffer.concat(parts, used);
}

/** READDIRPLUS: each dirent is preceded by a full entry_out for it. */
export function encodeDirentsPlus(
  entries: DirEntry[],
  from: number,
  maxSize: number,
  entryOf: (e: DirEntry) => Entry | undefined,
): Buffer {
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    const name = Buffer.from(e.name);
    const size = ENTRY_OUT_SIZE + direntSize(name.length);
    if (used + size > maxSize) break;
    const b = Buffer.alloc(size);
    const entry = entryOf(e);
    // A zero node id tells the kernel to skip the lookup part ("." and "..").
    if (entry) fillEntry(b, 0, entry);
    const d = ENTRY_OUT_SIZE;
    writeU64(b, d, e.ino);
    writeU64(b, d + 8, i + 1);
    b.writeUInt32LE(name.length, d + 16);
    b.writeUInt32LE((e.mode >>> 12) & 0xf, d + 20);
    name.copy(b, d + 24);
    parts.push(b);
    used += size;
  }
  return Buffer.concat(parts, used);
}

export function encodeIoctlOut(result: number, data: Buffer | undefined): Buffer {
  const b = Buffer.alloc(IOCTL_OUT_SIZE + (data ? data.length : 0));
  b.writeInt32LE(result, 0);
  if (data) data.copy(b, IOCTL_OUT_SIZE);
  return b;
}

export { IN_HEADER_SIZE, OUT_HEADER_SIZE, ATTR_SIZE };
