// Notification messages the filesystem sends unasked (fuse_notify_*_out).
// They must be written by a thread that serves no requests: an INVAL written by
// a serving thread can wait on a writeback that only that thread would serve.

import { OUT_HEADER_SIZE, NotifyCode } from './protocol.js';
import { writeI64, writeU64 } from './codec.js';

function header(buf: Buffer, code: number): void {
  buf.writeUInt32LE(buf.length, 0);
  buf.writeInt32LE(code, 4);
  writeU64(buf, 8, 0); // unique 0 marks a notification
}

/** Drop cached pages of [offset, offset+length) of a node; length 0 means to the end, offset -1 only attributes. */
export function encodeInvalInode(nodeid: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(OUT_HEADER_SIZE + 24);
  header(b, NotifyCode.INVAL_INODE);
  writeU64(b, 16, nodeid);
  writeI64(b, 24, offset);
  writeI64(b, 32, length);
  return b;
}

export function encodeInvalEntry(parent: number, name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(OUT_HEADER_SIZE + 16 + n.length + 1);
  header(b, NotifyCode.INVAL_ENTRY);
  writeU64(b, 16, parent);
  b.writeUInt32LE(n.length, 24);
  n.copy(b, 32);
  return b;
}

/** Push bytes into the kernel's page cache of a node (seen through existing mappings). */
export function encodeStore(nodeid: number, offset: number, data: Buffer): Buffer {
  const b = Buffer.alloc(OUT_HEADER_SIZE + 24 + data.length);
  header(b, NotifyCode.STORE);
  writeU64(b, 16, nodeid);
  writeU64(b, 24, offset);
  b.writeUInt32LE(data.length, 32);
  data.copy(b, 40);
  return b;
}

/** Ask for the cached bytes of a node; they come back as a NOTIFY_REPLY request. */
export function encodeRetrieve(notifyUnique: number, nodeid: number, offset: number, size: number): Buffer {
  const b = Buffer.alloc(OUT_HEADER_SIZE + 32);
  header(b, NotifyCode.RETRIEVE);
  writeU64(b, 16, notifyUnique);
  writeU64(b, 24, nodeid);
  writeU64(b, 32, offset);
  b.writeUInt32LE(size, 40);
  return b;
}
