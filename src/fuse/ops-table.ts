// The op table: opcode → { name, handler }. Adding an op is one handler in
// ops.ts and one line here.

import * as ops from './ops.js';
import { Opcode } from './protocol.js';
import type { FuseRequest } from './request.js';
import type { FuseSessionCore } from './session-core.js';

export interface OpEntry {
  name: string;
  handler: (s: FuseSessionCore, r: FuseRequest) => void;
}

const table: [number, OpEntry][] = [
  [Opcode.INIT, { name: 'INIT', handler: ops.doInit }],
  [Opcode.LOOKUP, { name: 'LOOKUP', handler: ops.doLookup }],
  [Opcode.FORGET, { name: 'FORGET', handler: ops.doForget }],
  [Opcode.BATCH_FORGET, { name: 'BATCH_FORGET', handler: ops.doBatchForget }],
  [Opcode.GETATTR, { name: 'GETATTR', handler: ops.doGetattr }],
  [Opcode.SETATTR, { name: 'SETATTR', handler: ops.doSetattr }],
  [Opcode.READLINK, { name: 'READLINK', handler: ops.doReadlink }],
  [Opcode.OPEN, { name: 'OPEN', handler: ops.doOpen }],
  [Opcode.READ, { name: 'READ', handler: ops.doRead }],
  [Opcode.WRITE, { name: 'WRITE', handler: ops.doWrite }],
  [Opcode.FLUSH, { name: 'FLUSH', handler: ops.doFlush }],
  [Opcode.FSYNC, { name: 'FSYNC', handler: ops.doFsync }],
  [Opcode.RELEASE, { name: 'RELEASE', handler: ops.doRelease }],
  [Opcode.OPENDIR, { name: 'OPENDIR', handler: ops.doOpendir }],
  [Opcode.READDIR, { name: 'READDIR', handler: ops.doReaddir }],
  [Opcode.READDIRPLUS, { name: 'READDIRPLUS', handler: ops.doReaddirplus }],
  [Opcode.RELEASEDIR, { name: 'RELEASEDIR', handler: ops.doReleasedir }],
  [Opcode.STATFS, { name: 'STATFS', handler: ops.doStatfs }],
  [Opcode.ACCESS, { name: 'ACCESS', handler: ops.doAccess }],
  [Opcode.IOCTL, { name: 'IOCTL', handler: ops.doIoctl }],
  [Opcode.FALLOCATE, { name: 'FALLOCATE', handler: ops.doFallocate }],
  [Opcode.CREATE, { name: 'CREATE', handler: ops.doCreate }],
  [Opcode.MKNOD, { name: 'MKNOD', handler: ops.doMknod }],
  [Opcode.MKDIR, { name: 'MKDIR', handler: ops.doMkdir }],
  [Opcode.UNLINK, { name: 'UNLINK', handler: ops.doUnlink }],
  [Opcode.RMDIR, { name: 'RMDIR', handler: ops.doRmdir }],
  [Opcode.RENAME, { name: 'RENAME', handler: ops.doRename }],
  [Opcode.RENAME2, { name: 'RENAME2', handler: ops.doRename2 }],
  [Opcode.LINK, { name: 'LINK', handler: ops.doLink }],
  [Opcode.SYMLINK, { name: 'SYMLINK', handler: ops.doSymlink }],
  [Opcode.INTERRUPT, { name: 'INTERRUPT', handler: ops.doInterrupt }],
  [Opcode.DESTROY, { name: 'DESTROY', handler: ops.doDestroy }],
  [Opcode.STATX, { name: 'STATX', handler: ops.doStatx }],
  [Opcode.NOTIFY_REPLY, { name: 'NOTIFY_REPLY', handler: ops.doNotifyReply }],
];

export const OPS: (OpEntry | undefined)[] = [];
for (const [opcode, entry] of table) OPS[opcode] = entry;

/** Requests that get no reply at all. */
export const NO_REPLY = new Set<number>([Opcode.FORGET, Opcode.BATCH_FORGET, Opcode.INTERRUPT, Opcode.NOTIFY_REPLY]);
