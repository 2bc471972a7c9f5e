import { describe, expect, test } from 'vitest';
import {
  decodeAttr,
  decodeInHeader,
  encodeDirents,
  encodeEntry,
  encodeError,
  encodeInitOut,
  fillAttr,
  readU64,
  writeU64,
} from '../../src/fuse/codec.js';
import { encodeInvalEntry, encodeInvalInode, encodeRetrieve, encodeStore } from '../../src/fuse/notify.js';
import { ATTR_SIZE, ENTRY_OUT_SIZE, INIT_OUT_SIZE, NotifyCode } from '../../src/fuse/protocol.js';
import type { Attr } from '../../src/fs-types.js';

const attr: Attr = { ino: 2 ** 40 + 7, size: 2 ** 40, blocks: 3, mode: 0o100644, nlink: 1, uid: 0, gid: 5, rdev: 0, blksize: 4096, mtimeMs: 1_700_000_000_250 };

function request(opcode: number, unique: bigint, body = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(40 + body.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt32LE(opcode, 4);
  b.writeBigUInt64LE(unique, 8);
  b.writeBigUInt64LE(9n, 16);
  b.writeUInt32LE(1000, 24);
  b.writeUInt32LE(100, 28);
  b.writeUInt32LE(4242, 32);
  body.copy(b, 40);
  return b;
}

describe('FUSE codec', () => {
  test('64-bit fields above 2^32 survive a write/read round trip', () => {
    const b = Buffer.alloc(8);
    writeU64(b, 0, 2 ** 52 + 3);
    expect(readU64(b, 0)).toBe(2 ** 52 + 3);
    expect(b.readBigUInt64LE(0)).toBe(2n ** 52n + 3n);
  });

  test('request header exposes the caller pid, uid and gid', () => {
    expect(decodeInHeader(request(1, 77n))).toEqual({ len: 40, opcode: 1, nodeid: 9, uid: 1000, gid: 100, pid: 4242 });
  });

  test('fuse_attr is 88 bytes at the kernel offsets and decodes back', () => {
    const b = Buffer.alloc(ATTR_SIZE);
    fillAttr(b, 0, attr);
    expect(b.readUInt32LE(60)).toBe(0o100644); // mode
    expect(b.readUInt32LE(72)).toBe(5); // gid
    expect(b.readUInt32LE(80)).toBe(4096); // blksize
    expect(decodeAttr(b, 0)).toEqual(attr);
  });

  test('entry_out carries node id, timeouts split into seconds and nanoseconds, then the attr', () => {
    const b = encodeEntry({ nodeid: 12, attr, entryTimeout: 1.5, attrTimeout: 0 });
    expect(b.length).toBe(ENTRY_OUT_SIZE);
    expect(readU64(b, 0)).toBe(12);
    expect(readU64(b, 16)).toBe(1);
    expect(b.readUInt32LE(32)).toBe(500_000_000);
    expect(readU64(b, 24)).toBe(0);
    expect(decodeAttr(b, 40).ino).toBe(attr.ino);
  });

  test('an error reply is a bare header with the negated errno and the request unique', () => {
    const r = encodeError(request(3, 0x1122334455667788n), 121);
    expect(r.length).toBe(16);
    expect(r.readUInt32LE(0)).toBe(16);
    expect(r.readInt32LE(4)).toBe(-121);
    expect(r.readBigUInt64LE(8)).toBe(0x1122334455667788n);
  });

  test('init_out is 64 bytes with max_write and max_pages where the kernel reads them', () => {
    const b = encodeInitOut({ major: 7, minor: 38, maxReadahead: 131072, flags: 0x40000001, flags2: 0x10, maxBackground: 64, congestionThreshold: 48, maxWrite: 1 << 20, timeGran: 1, maxPages: 256 });
    expect(b.length).toBe(INIT_OUT_SIZE);
    expect(b.readUInt32LE(12)).toBe(0x40000001);
    expect(b.readUInt32LE(20)).toBe(1 << 20);
    expect(b.readUInt16LE(28)).toBe(256);
    expect(b.readUInt32LE(32)).toBe(0x10);
  });

  test('readdir packs 8-byte aligned dirents and stops at the first that does not fit', () => {
    const entries = [
      { name: '.', ino: 1, mode: 0o040000 },
      { name: 'vendor', ino: 5, mode: 0o100000 },
      { name: 'a-much-longer-name', ino: 6, mode: 0o120000 },
    ];
    const all = encodeDirents(entries, 0, 4096);
    expect(all.length).toBe(32 + 32 + 48);
    expect(readU64(all, 32 + 8)).toBe(2); // offset of "vendor" = index of the next entry
    expect(all.readUInt32LE(32 + 20)).toBe(8); // DT_REG
    expect(all.readUInt32LE(64 + 20)).toBe(10); // DT_LNK
    expect(encodeDirents(entries, 0, 70).length).toBe(64);
    expect(encodeDirents(entries, 2, 4096).toString('utf8', 24, 42)).toBe('a-much-longer-name');
  });
});

describe('FUSE notify messages', () => {
  test('inval_inode: unique 0, code INVAL_INODE, node, signed offset and length', () => {
    const b = encodeInvalInode(33, -1, 0);
    expect(b.readUInt32LE(0)).toBe(b.length);
    expect(b.readInt32LE(4)).toBe(NotifyCode.INVAL_INODE);
    expect(b.readBigUInt64LE(8)).toBe(0n);
    expect(readU64(b, 16)).toBe(33);
    expect(b.readBigInt64LE(24)).toBe(-1n);
  });

  test('inval_entry: name length, then the NUL-terminated name', () => {
    const b = encodeInvalEntry(4, 'allocate');
    expect(b.readInt32LE(4)).toBe(NotifyCode.INVAL_ENTRY);
    expect(b.readUInt32LE(24)).toBe(8);
    expect(b.toString('utf8', 32, 40)).toBe('allocate');
    expect(b[40]).toBe(0);
  });

  test('store: node, offset, size and the bytes', () => {
    const b = encodeStore(8, 4096, Buffer.from('abc'));
    expect(b.readInt32LE(4)).toBe(NotifyCode.STORE);
    expect(readU64(b, 24)).toBe(4096);
    expect(b.readUInt32LE(32)).toBe(3);
    expect(b.toString('utf8', 40)).toBe('abc');
  });

  test('retrieve: the notify unique that the NOTIFY_REPLY will carry', () => {
    const b = encodeRetrieve(99, 8, 0, 8192);
    expect(b.readInt32LE(4)).toBe(NotifyCode.RETRIEVE);
    expect(readU64(b, 16)).toBe(99);
    expect(readU64(b, 24)).toBe(8);
    expect(b.readUInt32LE(40)).toBe(8192);
  });
});
