// Handlers, one per opcode, named do<Op>. Each ends in exactly one reply (or
// none, for FORGET, BATCH_FORGET, INTERRUPT and NOTIFY_REPLY).

import { ERRNO } from '../errno.js';
import {
  decodeInitIn,
  encodeAttrOut,
  encodeDirents,
  encodeDirentsPlus,
  encodeEntry,
  encodeInitOut,
  encodeIoctlOut,
  encodeOpenOut,
  encodeStatfs,
  encodeWriteOut,
} from './codec.js';
import {
  FATTR_FH,
  FATTR_GID,
  FATTR_MODE,
  FATTR_SIZE,
  FATTR_UID,
  FOPEN_DIRECT_IO,
  FOPEN_KEEP_CACHE,
  FOPEN_NONSEEKABLE,
  FUSE_IOCTL_UNRESTRICTED,
  FUSE_KERNEL_MINOR_VERSION,
  FUSE_KERNEL_VERSION,
  InitFlag,
  InitFlag2,
  MAX_PAGES,
  MAX_WRITE,
} from './protocol.js';
import type { FuseRequest } from './request.js';
import type { FuseSessionCore } from './session-core.js';
import type { NameChange, SetattrRequest, TruncateCause } from './types.js';
import { callerMemory, X86_64_OPEN_CALLS } from '../caller-memory/index.js';

type Handler = (s: FuseSessionCore, r: FuseRequest) => void;

/** Runs fn and replies with its result, or with the errno of what it threw. */
function answer<T>(s: FuseSessionCore, r: FuseRequest, fn: () => T | Promise<T>, encode: (v: T) => Buffer | undefined): void {
  let result: T | Promise<T>;
  try {
    result = fn();
  } catch (err) {
    s.replyThrown(r, err);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (v) => {
        let payload: Buffer | undefined;
        try {
          payload = encode(v);
        } catch (err) {
          s.replyThrown(r, err);
          return;
        }
        s.reply(r, payload);
      },
      (err) => s.replyThrown(r, err),
    );
  } else {
    s.reply(r, encode(result));
  }
}

export const doInit: Handler = (s, r) => {
  const init = decodeInitIn(r.body());
  if (init.major !== FUSE_KERNEL_VERSION) {
    s.replyError(r, ERRNO.EPROTO, new Error(`unsupported FUSE major ${init.major}`));
    return;
  }
  // No ATOMIC_O_TRUNC: with it the kernel zeroes i_size itself after OPEN (mappings
  // of allocate then SIGBUS); without it O_TRUNC becomes a SETATTR whose reply keeps the size.
  const want =
    InitFlag.ASYNC_READ |
    InitFlag.BIG_WRITES |
    InitFlag.DO_READDIRPLUS |
    InitFlag.READDIRPLUS_AUTO |
    InitFlag.ASYNC_DIO |
    InitFlag.PARALLEL_DIROPS |
    InitFlag.MAX_PAGES |
    InitFlag.CACHE_SYMLINKS |
    InitFlag.INIT_EXT;
  // FUSE over io_uring only where the session has a ring per queue ready: after
  // this answer the kernel holds every request until all queues registered
  s.kernelOffersUring = (init.flags2 & InitFlag2.OVER_IO_URING) !== 0 && !s.uringOfferIgnored;
  s.overUring = s.uringWanted && s.kernelOffersUring;
  s.negotiated = { minor: Math.min(init.minor, FUSE_KERNEL_MINOR_VERSION), flags: init.flags & want };
  s.reply(
    r,
    encodeInitOut({
      major: FUSE_KERNEL_VERSION,
      minor: FUSE_KERNEL_MINOR_VERSION,
      maxReadahead: init.maxReadahead,
      flags: init.flags & want,
      flags2: s.overUring ? InitFlag2.OVER_IO_URING : 0,
      maxBackground: 64,
      congestionThreshold: 48,
      maxWrite: MAX_WRITE,
      timeGran: 1,
      maxPages: MAX_PAGES,
    }),
  );
  s.initDone();
};

export const doLookup: Handler = (s, r) => {
  answer(s, r, () => s.fs.lookup(r.nodeid, r.name(), r.caller), encodeEntry);
};

export const doForget: Handler = (s, r) => {
  s.fs.forget(r.nodeid, r.u64(0));
};

export const doBatchForget: Handler = (s, r) => {
  const count = r.u32(0);
  for (let i = 0; i < count; i++) s.fs.forget(r.u64(8 + i * 16), r.u64(16 + i * 16));
};

export const doGetattr: Handler = (s, r) => {
  answer(s, r, () => s.fs.getattr(r.nodeid, r.caller), (a) => encodeAttrOut(a.attr, a.timeout));
};

/**
 * ftruncate names its file (FATTR_FH); the O_TRUNC of an open and truncate(2)
 * send the same bits, so the caller's syscall (it waits in it) tells them apart.
 */
function truncateCause(valid: number, tid: number): TruncateCause {
  if (valid & FATTR_FH) return 'fd';
  const sc = callerMemory.syscallNumber(tid);
  return sc !== undefined && X86_64_OPEN_CALLS.has(sc) ? 'open' : 'path';
}

// fuse_setattr_in: valid@0, padding, fh@8, size@16, lock_owner@24, atime/mtime/ctime@32..,
// their nsec@56.., mode@68, unused, uid@76, gid@80
export const doSetattr: Handler = (s, r) => {
  const valid = r.u32(0);
  const req: SetattrRequest = {};
  if (valid & FATTR_SIZE) {
    req.size = r.u64(16);
    req.truncateCause = truncateCause(valid, r.caller.pid);
  }
  if (valid & FATTR_MODE) req.mode = r.u32(68);
  if (valid & FATTR_UID) req.uid = r.u32(76);
  if (valid & FATTR_GID) req.gid = r.u32(80);
  answer(s, r, () => s.fs.setattr(r.nodeid, req, r.caller), (a) => encodeAttrOut(a.attr, a.timeout));
};

export const doReadlink: Handler = (s, r) => {
  answer(s, r, () => s.fs.readlink(r.nodeid), (target) => Buffer.from(target));
};

export const doOpen: Handler = (s, r) => {
  const flags = r.u32(0);
  answer(
    s,
    r,
    () => {
      const intent = s.fs.open(r.nodeid, flags, r.caller);
      const fh = s.handles.open(intent.handle ?? null, intent.backing);
      let openFlags = 0;
      if (intent.direct) openFlags |= FOPEN_DIRECT_IO;
      if (intent.keepCache) openFlags |= FOPEN_KEEP_CACHE;
      if (intent.nonSeekable) openFlags |= FOPEN_NONSEEKABLE;
      return encodeOpenOut(fh, openFlags);
    },
    (b) => b,
  );
};

// fuse_read_in: fh, offset, size, read_flags, lock_owner, flags, padding
export const doRead: Handler = (s, r) => {
  const fh = r.u64(0);
  const handle = s.handles.handleOf(fh);
  answer(
    s,
    r,
    () => s.fs.read(r.nodeid, handle, r.u64(8), r.u32(16), r.caller, r.u32(32)),
    (b) => {
      // from now on the readers may serve this handle themselves
      const late = s.fs.lateBacking?.(handle);
      if (late) s.handles.setBacking(fh, late);
      return b;
    },
  );
};

// fuse_write_in (40 bytes) then the data
export const doWrite: Handler = (s, r) => {
  const fh = r.u64(0);
  const size = r.u32(16);
  const data = r.body(40, 40 + size);
  answer(s, r, () => s.fs.write(r.nodeid, s.handles.handleOf(fh), r.u64(8), data, r.caller, r.u32(32)), encodeWriteOut);
};

export const doFlush: Handler = (s, r) => {
  answer(s, r, () => s.fs.flush(r.nodeid, s.handles.handleOf(r.u64(0)), r.caller), () => undefined);
};

export const doFsync: Handler = (s, r) => {
  answer(s, r, () => s.fs.fsync(r.nodeid, s.handles.handleOf(r.u64(0)), r.caller), () => undefined);
};

export const doRelease: Handler = (s, r) => {
  const fh = r.u64(0);
  const handle = s.handles.handleOf(fh);
  s.handles.close(fh);
  answer(s, r, () => s.fs.release(r.nodeid, handle, r.caller), () => undefined);
};

export const doOpendir: Handler = (s, r) => {
  answer(
    s,
    r,
    () => {
      s.fs.opendir(r.nodeid, r.caller);
      // Snapshot the listing at open, so offsets stay stable across READDIR calls.
      const fh = s.handles.open(s.fs.readdir(r.nodeid), undefined);
      return encodeOpenOut(fh, 0);
    },
    (b) => b,
  );
};

export const doReaddir: Handler = (s, r) => {
  const entries = s.handles.handleOf(r.u64(0)) as ReturnType<FuseSessionCore['fs']['readdir']>;
  answer(s, r, () => encodeDirents(entries ?? [], r.u64(8), r.u32(16)), (b) => b);
};

export const doReaddirplus: Handler = (s, r) => {
  const entries = s.handles.handleOf(r.u64(0)) as ReturnType<FuseSessionCore['fs']['readdir']>;
  answer(
    s,
    r,
    () =>
      encodeDirentsPlus(entries ?? [], r.u64(8), r.u32(16), (e) => {
        if (e.name === '.' || e.name === '..') return undefined;
        try {
          return s.fs.lookup(r.nodeid, e.name, r.caller);
        } catch {
          return undefined;
        }
      }),
    (b) => b,
  );
};

export const doReleasedir: Handler = (s, r) => {
  s.handles.close(r.u64(0));
  s.reply(r, undefined);
};

export const doStatfs: Handler = (s, r) => {
  answer(s, r, () => s.fs.statfs(), encodeStatfs);
};

export const doAccess: Handler = (s, r) => {
  answer(s, r, () => s.fs.access(r.nodeid, r.u32(0), r.caller), () => undefined);
};

// fuse_ioctl_in: fh, flags, cmd, arg, in_size, out_size; then in_size bytes
export const doIoctl: Handler = (s, r) => {
  const fh = r.u64(0);
  const flags = r.u32(8);
  const inSize = r.u32(24);
  const req = {
    cmd: r.u32(12),
    arg: r.buf.readBigUInt64LE(40 + 16),
    input: r.body(32, 32 + inSize),
    outSize: r.u32(28),
    unrestricted: (flags & FUSE_IOCTL_UNRESTRICTED) !== 0,
  };
  answer(s, r, () => s.fs.ioctl(r.nodeid, s.handles.handleOf(fh), req, r.caller), (res) =>
    encodeIoctlOut(res.result, res.output?.subarray(0, req.outSize)),
  );
};

// fuse_fallocate_in: fh, offset, length, mode, padding
export const doFallocate: Handler = (s, r) => {
  answer(s, r, () => s.fs.fallocate(r.nodeid, s.handles.handleOf(r.u64(0)), r.u64(8), r.u64(16), r.u32(24), r.caller), () => undefined);
};

/** Requests that would change the tree: the filesystem says which errno (the name follows a fixed-size struct). */
function nameChange(op: NameChange, nameOffset: number): Handler {
  return (s, r) => answer(s, r, () => s.fs.changeName(op, r.nodeid, r.name(nameOffset), r.caller), () => undefined);
}
// fuse_create_in and fuse_mknod_in are 16 bytes, fuse_mkdir_in 8, fuse_rename_in 8, fuse_rename2_in 16, fuse_link_in 8
export const doCreate = nameChange('create', 16);
export const doMknod = nameChange('mknod', 16);
export const doMkdir = nameChange('mkdir', 8);
export const doUnlink = nameChange('unlink', 0);
export const doRmdir = nameChange('rmdir', 0);
export const doRename = nameChange('rename', 8);
export const doRename2 = nameChange('rename', 16);
export const doLink = nameChange('link', 8);
export const doSymlink = nameChange('symlink', 0);

export const doInterrupt: Handler = () => {
  // Not every request is quick (an O_DIRECT decision can wait up to 2 s for its
  // caller to block; a removal waits for its mappings to go), but none can be cut
  // short safely, so the interrupted request still gets its normal answer; the
  // kernel accepts an interrupt that gets no answer of its own.
};

export const doDestroy: Handler = (s, r) => {
  s.reply(r, undefined);
};

export const doStatx: Handler = (s, r) => {
  // The kernel then falls back to GETATTR for good.
  s.replyError(r, ERRNO.ENOSYS);
};

// fuse_notify_retrieve_in: dummy1, offset, size, dummy2, dummy3, dummy4; then data
export const doNotifyReply: Handler = (s, r) => {
  s.retrieveDone(r.unique, r.u64(8), r.body(40, 40 + r.u32(16)));
};
