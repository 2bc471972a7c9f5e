// The data path a transport thread serves itself: READ and WRITE on handles
// with a backing fd, O_DIRECT put to the filesystem's classifier first when
// the backing asks for it. Everything else is handed to the main thread. The
// transport (a /dev/fuse reader, an io_uring queue) supplies the request, the
// reply buffer and how a reply leaves (an Exchange).

import { writeSync } from 'node:fs';
import { ERRNO } from '../errno.js';
import { preadSync } from '../memory/index.js';
import type { CreateDirectClassifier, DirectClassifierSpec, DirectVerdict } from '../fs-types.js';
import { readU64 } from './codec.js';
import { HandleTable } from './handle-table.js';
import { MAX_WRITE, Opcode, OUT_HEADER_SIZE } from './protocol.js';
import type { ReaderMessage, ReaderTestHook } from './reader-protocol.js';
import type { ReaderProfile } from './reader-profile.js';
import { writeOutHeader } from './reply.js';

const { ENOSPC, EFBIG, EINVAL, EBADF, EIO } = ERRNO;
const O_DIRECT = 0o40000;
const WRITE_DATA = 40 + 40; // in header + fuse_write_in
/** what serveRead/serveWrite are told when the request needs no classification */
const UNDECIDED = undefined;

// Small replies: the data is read into the reply buffer after the header and
// written with it (one copy more, two syscalls). Larger ones are spliced from
// the backing file where the transport can (memory/splice.ts): the kernel's
// copy into the caller is the only one (native-notes/performance.md).
const SPLICE_FROM = 16 << 10;

/** One request in a transport thread and the way its reply leaves. */
export interface Exchange {
  /** the request as /dev/fuse delivers it: in header, the op's struct, its payload */
  req: Buffer;
  /** the request's length */
  n: number;
  /** where a reply is built: out header at 0, payload after it, room for MAX_WRITE */
  reply: Buffer;
  /** sends the first len bytes of reply (its header written) */
  send(len: number): void;
  /** sends the header followed by want bytes of backingFd at position, spliced; absent: the transport cannot */
  splice?: (header: Buffer, backingFd: number, position: number, want: number) => void;
  /** hands the request to the main thread */
  toMain(): void;
}

export type Post = (msg: ReaderMessage, transfer?: ArrayBuffer[]) => void;

/** Loads the filesystem's O_DIRECT classifier in this thread (undefined: none, such requests go to the main thread). */
export async function loadClassifier(spec: DirectClassifierSpec | undefined): Promise<ReturnType<CreateDirectClassifier> | undefined> {
  if (!spec) return undefined;
  return ((await import(spec.module)) as { createDirectClassifier: CreateDirectClassifier }).createDirectClassifier(spec.data);
}

export class DataPath {
  constructor(
    private readonly table: HandleTable,
    private readonly classify: ReturnType<CreateDirectClassifier> | undefined,
    private readonly post: Post,
    private readonly prof: ReaderProfile | undefined,
    private readonly testHook: ReaderTestHook | undefined,
  ) {}

  private answer(x: Exchange, len: number, error: number): void {
    writeOutHeader(x.reply, len, error, x.req);
    x.send(len);
  }

  /** A data-path failure (answered EIO, or handed to the main thread): the main thread counts and logs it like a handler bug. */
  private failed(x: Exchange, op: 'READ' | 'WRITE', err: unknown, answeredEio = true): void {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.post({ type: 'failed', op: answeredEio ? op : `${op} (classifier)`, nodeid: readU64(x.req, 16), message });
  }

  /** A reply the kernel refused: the main thread logs it. */
  replyFailed(req: Buffer, err: NodeJS.ErrnoException): void {
    this.post({ type: 'reply-failed', op: req.readUInt32LE(4), code: err.code ?? 'unknown', message: err.message });
  }

  serve(x: Exchange): void {
    const req = x.req;
    const opcode = req.readUInt32LE(4);
    // test-only: die holding this request, as a crash in the data path would
    if (this.testHook && opcode === Opcode.READ && readU64(req, 16) === this.testHook.dieOnReadOf) process.exit(1);
    if (opcode === Opcode.READ || opcode === Opcode.WRITE) {
      const fh = readU64(req, 40);
      const backingFd = this.table.backingFd(fh);
      // read_in.flags / write_in.flags: the open flags of the caller's file
      const direct = (req.readUInt32LE(40 + 32) & O_DIRECT) !== 0;
      if (backingFd >= 0 && direct) {
        // block-device rule: O_DIRECT offset and length in whole logical blocks
        const align = this.table.directAlign(fh);
        if (align > 0 && (readU64(req, 48) % align !== 0 || req.readUInt32LE(56) % align !== 0)) {
          this.answer(x, OUT_HEADER_SIZE, EINVAL);
          return;
        }
      }
      const decide = backingFd >= 0 && direct && this.table.directNeedsMain(fh);
      if (backingFd >= 0 && (!decide || this.classify)) {
        if (opcode === Opcode.READ) this.serveRead(x, fh, backingFd, decide);
        else this.serveWrite(x, fh, backingFd, decide);
        return;
      }
    }
    this.toMain(x);
  }

  private toMain(x: Exchange): void {
    this.prof?.lap('decode');
    this.prof?.handOn(x.req.readUInt32LE(4));
    x.toMain();
    this.prof?.lap('handoff');
  }

  private serveRead(x: Exchange, fh: number, backingFd: number, decide: boolean): void {
    const { req, reply } = x;
    const prof = this.prof;
    const offset = readU64(req, 48);
    const size = req.readUInt32LE(56);
    const fileSize = this.table.size(fh);
    const want = offset >= fileSize ? 0 : Math.min(size, fileSize - offset, MAX_WRITE);
    if (want === 0) {
      this.answer(x, OUT_HEADER_SIZE, 0);
      return;
    }
    prof?.lap('decode');
    const verdict = decide ? this.decided(x, fh, offset, want, false) : UNDECIDED;
    if (verdict === null) return;
    const position = this.table.offset(fh) + offset;
    writeOutHeader(reply, OUT_HEADER_SIZE + want, 0, req);
    try {
      if (want < SPLICE_FROM || !x.splice) {
        if (preadSync(backingFd, reply.subarray(OUT_HEADER_SIZE, OUT_HEADER_SIZE + want), position) !== want) throw new Error('backing file ended inside the reply');
        prof?.lap('data');
        x.send(OUT_HEADER_SIZE + want);
        prof?.lap('reply');
      } else {
        x.splice(reply.subarray(0, OUT_HEADER_SIZE), backingFd, position, want);
        prof?.lap('data');
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: the kernel dropped an interrupted request, nothing to answer
      if (code === 'ENOENT') return;
      if (code === 'EINVAL' || code === 'EPIPE' || code === 'ENODEV') {
        this.replyFailed(req, err as NodeJS.ErrnoException);
        return;
      }
      this.failed(x, 'READ', err);
      this.answer(x, OUT_HEADER_SIZE, EIO);
      return;
    }
    this.table.count(fh, false, want);
    verdict?.count();
  }

  /**
   * The classifier's verdict on an O_DIRECT request: to serve (count it after),
   * or null when it was answered (refused) or handed to the main thread here.
   */
  private decided(x: Exchange, fh: number, offset: number, len: number, write: boolean): Extract<DirectVerdict, { kind: 'serve' }> | null {
    let v: DirectVerdict = { kind: 'main' };
    try {
      v = this.classify!({ slot: this.table.statsSlot(fh), tid: x.req.readUInt32LE(32), node: readU64(x.req, 16), offset, len, write });
    } catch (err) {
      // a bug in the classifier: the main thread decides (and the bug is logged)
      this.failed(x, write ? 'WRITE' : 'READ', err, false);
    }
    this.prof?.lap('classify');
    if (v.kind === 'serve') return v;
    if (v.kind === 'refuse') this.answer(x, OUT_HEADER_SIZE, v.errno);
    else this.toMain(x);
    return null;
  }

  private serveWrite(x: Exchange, fh: number, backingFd: number, decide: boolean): void {
    const req = x.req;
    if (!this.table.writable(fh)) {
      this.answer(x, OUT_HEADER_SIZE, EBADF);
      return;
    }
    const offset = readU64(req, 48);
    const size = req.readUInt32LE(56);
    const fileSize = this.table.size(fh);
    if (offset >= fileSize && size > 0) {
      this.answer(x, OUT_HEADER_SIZE, this.table.pastEndEfbig(fh) ? EFBIG : ENOSPC);
      return;
    }
    const len = Math.min(size, fileSize - offset);
    this.prof?.lap('decode');
    const verdict = decide && len > 0 ? this.decided(x, fh, offset, len, true) : UNDECIDED;
    if (verdict === null) return;
    let done = 0;
    // pwrite beats a memcpy into the shared mapping here (0.49 vs 0.43 of raw, make bench)
    try {
      const base = this.table.offset(fh) + offset;
      while (done < len) done += writeSync(backingFd, req, WRITE_DATA + done, len - done, base + done);
    } catch (err) {
      this.failed(x, 'WRITE', err);
      this.answer(x, OUT_HEADER_SIZE, EIO);
      return;
    }
    this.prof?.lap('data');
    x.reply.writeUInt32LE(done, OUT_HEADER_SIZE);
    x.reply.writeUInt32LE(0, OUT_HEADER_SIZE + 4);
    this.answer(x, OUT_HEADER_SIZE + 8, 0);
    this.prof?.lap('reply');
    this.table.count(fh, true, done);
    verdict?.count();
  }
}
