import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { kernelError } from '../../src/errno.js';
import { readU64 } from '../../src/fuse/codec.js';
import { Opcode } from '../../src/fuse/protocol.js';
import { FuseSessionCore } from '../../src/fuse/session-core.js';
import type { FuseFilesystem } from '../../src/fs-types.js';

const attr = { ino: 2, size: 4096, blocks: 0, mode: 0o100444, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096, mtimeMs: 0 };

function fakeFs(seen: { caller?: unknown }): FuseFilesystem {
  return {
    lookup: (parent, name, caller) => {
      seen.caller = caller;
      if (name !== 'vendor') throw kernelError('ENOENT', name);
      return { nodeid: 2, attr, entryTimeout: 1, attrTimeout: 1 };
    },
    forget: () => {},
    getattr: () => ({ attr, timeout: 1 }),
    setattr: () => ({ attr, timeout: 1 }),
    readlink: () => 'x',
    open: () => ({ direct: true }),
    read: () => Buffer.from('0x144d\n'),
    write: async () => {
      throw kernelError('EINVAL', 'bad');
    },
    flush: () => {},
    fsync: () => {},
    release: () => {},
    opendir: () => {},
    readdir: () => [],
    access: () => {},
    statfs: () => ({ blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 4096, namelen: 255 }),
    ioctl: () => ({ result: 0 }),
    fallocate: () => {},
    changeName: () => {
      throw kernelError('EPERM', 'no');
    },
  };
}

function req(opcode: number, unique: number, body: Buffer = Buffer.alloc(0), nodeid = 1): Buffer {
  const b = Buffer.alloc(40 + body.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt32LE(opcode, 4);
  b.writeUInt32LE(unique, 8);
  b.writeUInt32LE(nodeid, 16);
  b.writeUInt32LE(1000, 24);
  b.writeUInt32LE(1000, 28);
  b.writeUInt32LE(777, 32);
  body.copy(b, 40);
  return b;
}

function initBody(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(7, 0);
  b.writeUInt32LE(45, 4);
  b.writeUInt32LE(131072, 8);
  b.writeUInt32LE(0x73fffffb, 12);
  return b;
}

function session() {
  const out: Buffer[] = [];
  const seen: { caller?: unknown } = {};
  const core = new FuseSessionCore(fakeFs(seen), (b) => out.push(b), pino({ level: 'silent' }));
  return { core, out, seen };
}

const errorOf = (b: Buffer) => -b.readInt32LE(4) || 0;

describe('dispatcher', () => {
  test('any request before INIT is answered EIO', () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.GETATTR, 1));
    expect(errorOf(out[0]!)).toBe(5);
  });

  test('INIT answers protocol 7.38 with 512 KiB writes in 128 pages', () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    const r = out[0]!;
    expect(errorOf(r)).toBe(0);
    expect(r.readUInt32LE(16)).toBe(7);
    expect(r.readUInt32LE(20)).toBe(38);
    expect(r.readUInt32LE(16 + 20)).toBe(1 << 19);
    expect(r.readUInt16LE(16 + 28)).toBe(128);
  });

  test('unknown opcodes are answered ENOSYS, STATX too', () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    core.dispatch(req(Opcode.GETLK, 2));
    core.dispatch(req(Opcode.STATX, 3));
    core.dispatch(req(200, 4));
    expect(out.slice(1).map(errorOf)).toEqual([38, 38, 38]);
  });

  test('mkdir is answered with the filesystem\'s errno, not ENOSYS (the kernel would stop asking)', () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    core.dispatch(req(Opcode.MKDIR, 2, Buffer.concat([Buffer.alloc(8), Buffer.from('d\0')])));
    expect(out.slice(1).map(errorOf)).toEqual([1]);
  });

  test('handlers see the caller pid, uid and gid of the request', () => {
    const { core, seen } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    core.dispatch(req(Opcode.LOOKUP, 2, Buffer.from('vendor\0')));
    expect(seen.caller).toEqual({ pid: 777, uid: 1000, gid: 1000 });
  });

  test('a KernelError thrown by the filesystem becomes its errno in the reply', () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    core.dispatch(req(Opcode.LOOKUP, 2, Buffer.from('nope\0')));
    expect(errorOf(out[1]!)).toBe(2);
  });

  test('an async rejection is answered once, with its errno', async () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    const body = Buffer.alloc(40 + 3);
    body.writeUInt32LE(3, 16);
    core.dispatch(req(Opcode.WRITE, 2, body, 2));
    await new Promise((r) => setTimeout(r, 0));
    expect(out.length).toBe(2);
    expect(errorOf(out[1]!)).toBe(22);
  });

  test('OPEN hands out a handle that READ reaches, and FORGET gets no reply', () => {
    const { core, out } = session();
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    core.dispatch(req(Opcode.OPEN, 2, Buffer.alloc(8), 2));
    const fh = readU64(out[1]!, 16);
    expect(fh).toBeGreaterThan(0);
    expect(out[1]!.readUInt32LE(16 + 8) & 1).toBe(1); // FOPEN_DIRECT_IO
    const read = Buffer.alloc(40);
    read.writeUInt32LE(fh, 0);
    read.writeUInt32LE(4096, 16);
    core.dispatch(req(Opcode.READ, 3, read, 2));
    expect(out[2]!.toString('utf8', 16)).toBe('0x144d\n');
    core.dispatch(req(Opcode.FORGET, 4, Buffer.alloc(8), 2));
    expect(out.length).toBe(3);
  });
});

// Issue 9: an exception inside a handler was answered EIO and logged only at debug level.
describe('handler bugs', () => {
  function buggySession() {
    const out: Buffer[] = [];
    const logs: { level: number; msg: string; op?: string; path?: string }[] = [];
    const fs: FuseFilesystem = {
      ...fakeFs({}),
      getattr: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'size')");
      },
      read: async () => {
        throw new RangeError('offset out of range');
      },
      describe: (nodeid) => (nodeid === 2 ? '/sys/bus/pci/devices/0000:03:00.0/vendor' : undefined),
    };
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const core = new FuseSessionCore(fs, (b) => out.push(b), log);
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    return { core, out, errors: () => logs.filter((l) => l.level >= 50) };
  }

  test('a bug is answered EIO, logged at error level with op and path once, and every occurrence counted', () => {
    const { core, out, errors } = buggySession();
    for (let i = 0; i < 3; i++) core.dispatch(req(Opcode.GETATTR, 10 + i, Buffer.alloc(16), 2));
    expect(out.slice(1).map(errorOf)).toEqual([5, 5, 5]);
    expect(errors()).toEqual([expect.objectContaining({ op: 'GETATTR', path: '/sys/bus/pci/devices/0000:03:00.0/vendor', msg: 'handler failed: answered EIO' })]);
    expect(core.bugCount).toBe(3);
    expect([...core.bugs.values()]).toEqual([
      { op: 'GETATTR', path: '/sys/bus/pci/devices/0000:03:00.0/vendor', message: "TypeError: Cannot read properties of undefined (reading 'size')", count: 3 },
    ]);
  });

  test('an async handler that rejects with a bug is counted the same way', async () => {
    const { core, out, errors } = buggySession();
    core.dispatch(req(Opcode.READ, 2, Buffer.alloc(40), 2));
    await new Promise((r) => setTimeout(r, 0));
    expect(errorOf(out[1]!)).toBe(5);
    expect(errors()).toEqual([expect.objectContaining({ op: 'READ' })]);
    expect(core.bugCount).toBe(1);
  });

  test('an answer that fails to encode after an async handler resolved is still answered: EIO, counted', async () => {
    const out: Buffer[] = [];
    // an ioctl result out of int32 range: encodeIoctlOut throws, after the promise resolved
    const fs: FuseFilesystem = { ...fakeFs({}), ioctl: async () => ({ result: 2 ** 40 }) };
    const core = new FuseSessionCore(fs, (b) => out.push(b), pino({ level: 'silent' }));
    core.dispatch(req(Opcode.INIT, 1, initBody()));
    core.dispatch(req(Opcode.IOCTL, 7, Buffer.alloc(32), 2));
    await new Promise((r) => setTimeout(r, 0));
    expect(out.slice(1).map((b) => [b.readUInt32LE(8), errorOf(b)])).toEqual([[7, 5]]);
    expect(core.bugCount).toBe(1);
  });

  test("a kernel decision (KernelError) is no bug: its errno, no error line, nothing counted", () => {
    const { core, out, errors } = buggySession();
    core.dispatch(req(Opcode.LOOKUP, 2, Buffer.from('nope\0')));
    expect(errorOf(out[1]!)).toBe(2);
    expect(errors()).toEqual([]);
    expect(core.bugCount).toBe(0);
  });
});
