// The dispatcher: decodes a request, applies the protocol policy (EIO before
// INIT, ENOSYS for unknown opcodes) and routes it through the op table. It
// writes replies through a sink, so unit tests can run it without /dev/fuse.

import type { Logger } from 'pino';
import { ERRNO, errnoOf, KernelError } from '../errno.js';
import { encodeError, encodeReply } from './codec.js';
import { HandleTable } from './handle-table.js';
import { OPS } from './ops-table.js';
import { Opcode, OPCODE_NAMES } from './protocol.js';
import { FuseRequest } from './request.js';
import type { FuseFilesystem } from './types.js';

export type ReplySink = (buf: Buffer) => void;

/** One kind of handler bug: what failed where, and how often. */
export interface HandlerBug {
  op: string;
  path: string;
  message: string;
  count: number;
}

/**
 * A thrown value that is no kernel decision: neither a KernelError nor an
 * error carrying an errno code (a TypeError, a failed assert, a bad argument).
 */
export function isHandlerBug(err: unknown): boolean {
  if (err instanceof KernelError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && code in ERRNO);
}

export class FuseSessionCore {
  negotiated: { minor: number; flags: number } | undefined;
  readonly handles: HandleTable;
  /** the session has a ring ready for every queue: INIT may ask for FUSE_OVER_IO_URING */
  uringWanted = false;
  /** test-only: INIT's offer of FUSE_OVER_IO_URING is not seen (as with enable_uring off) */
  uringOfferIgnored = false;
  /** INIT offered FUSE_OVER_IO_URING (enable_uring on, kernel 6.14 or later) */
  kernelOffersUring = false;
  /** INIT was answered with FUSE_OVER_IO_URING: requests come on the rings */
  overUring = false;
  private initialized = false;
  private onInit: (() => void)[] = [];
  private readonly retrieves = new Map<number, (offset: number, data: Buffer) => void>();
  private debug: boolean;
  /** handler bugs answered EIO, by op, path and message; each is logged at error level the first time */
  readonly bugs = new Map<string, HandlerBug>();
  bugCount = 0;

  constructor(
    readonly fs: FuseFilesystem,
    private readonly sink: ReplySink,
    private readonly log: Logger,
    handles?: HandleTable,
  ) {
    this.handles = handles ?? new HandleTable(HandleTable.allocate(fs.dataPath));
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
      this.handlerFailed(op.name, r.nodeid, err);
      this.replyError(r, ERRNO.EIO);
    }
  }

  /**
   * A bug in a handler (or in the data path of a reader thread): the caller
   * gets EIO; the bug is counted, and logged at error level with op and path
   * the first time it is seen, so a loop over a broken file does not flood the log.
   */
  handlerFailed(op: string, nodeid: number, err: unknown, name?: string): void {
    let path = this.fs.describe?.(nodeid) ?? `node ${nodeid}`;
    if (name !== undefined) path = `${path.replace(/\/$/, '')}/${name}`;
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const key = `${op} ${path} ${message}`;
    this.bugCount++;
    const seen = this.bugs.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    this.bugs.set(key, { op, path, message, count: 1 });
    this.log.error({ err, op, path }, 'handler failed: answered EIO');
  }

  reply(r: FuseRequest, payload: Buffer | undefined): void {
    this.sink(encodeReply(r.buf, payload));
  }

  /** Answers with the errno of what a handler threw; a handler bug is also counted and logged (handlerFailed). */
  replyThrown(r: FuseRequest, err: unknown): void {
    if (isHandlerBug(err)) {
      this.handlerFailed(OPCODE_NAMES[r.opcode] ?? String(r.opcode), r.nodeid, err, r.opcode === Opcode.LOOKUP ? r.name() : undefined);
      this.replyError(r, ERRNO.EIO);
    } else {
      this.replyError(r, errnoOf(err), err);
    }
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
