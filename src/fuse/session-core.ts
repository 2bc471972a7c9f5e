// The dispatcher: decodes a request, applies the protocol policy (EIO before
// INIT, ENOSYS for unknown opcodes) and routes it through the op table. It
// writes replies through a sink, so unit tests can run it without /dev/fuse.

import type { Logger } from 'pino';
import { ERRNO } from '../errno.js';
import { encodeError, encodeReply } from './codec.js';
import { HandleTable } from './handle-table.js';
import { OPS } from './ops-table.js';
import { Opcode, OPCODE_NAMES } from './protocol.js';
import { FuseRequest } from './request.js';
import type { FuseFilesystem } from './types.js';

export type ReplySink = (buf: Buffer) => void;

export class FuseSessionCore {
  negotiated: { minor: number; flags: number } | undefined;
  readonly handles: HandleTable;
  private initialized = false;
  private onInit: (() => void)[] = [];
  private readonly retrieves = new Map<number, (offset: number, data: Buffer) => void>();
  private debug: boolean;

  constructor(
    readonly fs: FuseFilesystem,
    private readonly sink: ReplySink,
    private readonly log: Logger,
    handles?: HandleTable,
  ) {
    this.handles = handles ?? new HandleTable();
    fs.bindSession?.({
      dropBacking: (handle) => this.handles.dropBackingOf(handle),
      setDirectIoCheck: (on) => this.handles.setDirectIoCheck(on),
      dataPathStats: (slot) => this.handles.statsOf(slot),
    });
    this.debug = log.isLevelEnabled('debug');
    log.on('level-change', () => (this.debug = log.isLevelEnabled('debug')));
  }

  dispatch(buf: Buffer): void {
    const r = new FuseRequest(buf);
    if (this.debug) this.log.debug({ op: OPCODE_NAMES[r.opcode] ?? r.opcode, nodeid: r.nodeid, pid: r.caller.pid }, 'request');
    if (!this.initialized && r.opcode !== Opcode.INIT) {
      this.replyError(r, ERRNO.EIO);
      return;
    }
    const op = OPS[r.opcode];
    if (!op) {
      this.replyError(r, ERRNO.ENOSYS);
      return;
    }
    try {
      op.handler(this, r);
    } catch (err) {
      // A handler bug, not a kernel decision: answer EIO and say so.
      this.log.error({ err, op: op.name }, 'handler failed');
      this.replyError(r, ERRNO.EIO);
    }
  }

  reply(r: FuseRequest, payload: Buffer | undefined): void {
    this.sink(encodeReply(r.buf, payload));
  }

  replyError(r: FuseRequest, errno: number, cause?: unknown): void {
    if (this.debug && cause) this.log.debug({ op: OPCODE_NAMES[r.opcode], errno, err: String(cause) }, 'error reply');
    this.sink(encodeError(r.buf, errno));
  }

  initDone(): void {
    this.initialized = true;
    for (const cb of this.onInit.splice(0)) cb();
  }

  whenInitialized(cb: () => void): void {
    if (this.initialized) cb();
    else this.onInit.push(cb);
  }

  expectRetrieve(notifyUnique: number, cb: (offset: number, data: Buffer) => void): void {
    this.retrieves.set(notifyUnique, cb);
  }

  retrieveDone(notifyUnique: number, offset: number, data: Buffer): void {
    const cb = this.retrieves.get(notifyUnique);
    this.retrieves.delete(notifyUnique);
    cb?.(offset, Buffer.from(data));
  }
}
