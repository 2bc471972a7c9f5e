// A reader thread: blocks in read() on /dev/fuse, serves READ and WRITE on
// handles with a backing fd itself, and hands every other request to the main
// thread. Serving the data path here, not on the main thread, is what makes
// 1 MiB O_DIRECT reach about half of raw tmpfs speed (DESIGN.md). O_DIRECT on
// a checkDirect backing while the filesystem says so is first put to its
// classifier, loaded here: served, refused with an errno, or handed on.

import { readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ERRNO } from '../errno.js';
import { HandleTable } from './handle-table.js';
import { readU64 } from './codec.js';
import { Opcode, OUT_HEADER_SIZE, READ_BUFFER_SIZE, MAX_WRITE } from './protocol.js';
import { sendReply, writeOutHeader, type ReplyFailure } from './reply.js';
import { preadSync, SplicePipe } from '../memory/index.js';
import { INFLIGHT_BUSY, INFLIGHT_OPCODE, INFLIGHT_UNIQUE, type ReaderData, type ReaderMessage } from './reader-protocol.js';
import type { CreateDirectClassifier, DirectVerdict } from '../fs-types.js';
import { readerProfile } from './reader-profile.js';

const { ENOSPC, EFBIG, EINVAL, EBADF, EIO } = ERRNO;
const O_DIRECT = 0o40000;

const { fd, tables, inflight: inflightBuffer, classifier, testHook } = workerData as ReaderData;
const inflight = new Int32Array(inflightBuffer);
const inflightUnique = Buffer.from(inflightBuffer, INFLIGHT_UNIQUE * 4, 8);
const table = new HandleTable(tables);
const req = Buffer.allocUnsafe(READ_BUFFER_SIZE);
const reply = Buffer.allocUnsafe(OUT_HEADER_SIZE + MAX_WRITE);
/** undefined where a pipe cannot hold a whole reply (fs.pipe-max-size below it): replies are copied then */
const pipe = (() => {
  try {
    return new SplicePipe(OUT_HEADER_SIZE + MAX_WRITE);
  } catch {
    return undefined;
  }
})();
const nap = new Int32Array(new SharedArrayBuffer(4));
const prof = readerProfile();
const classify = classifier
  ? ((await import(classifier.module)) as { createDirectClassifier: CreateDirectClassifier }).createDirectClassifier(classifier.data)
  : undefined;
/** what serveRead/serveWrite are told when the request needs no classification */
const UNDECIDED = undefined;

const post = (msg: ReaderMessage, transfer?: ArrayBuffer[]) => parentPort!.postMessage(msg, transfer);

/** A reply the kernel refused: the main thread logs it. */
const replyFailed: ReplyFailure = (err) => post({ type: 'reply-failed', op: req.readUInt32LE(4), code: err.code ?? 'unknown', message: err.message });

function send(len: number, error: number): void {
  writeOutHeader(reply, len, error, req);
  sendReply(fd, reply, len, replyFailed);
}

/** A data-path failure (answered EIO, or handed to the main thread): the main thread counts and logs it like a handler bug. */
function failed(op: 'READ' | 'WRITE', err: unknown, answeredEio = true): void {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  post({ type: 'failed', op: answeredEio ? op : `${op} (classifier)`, nodeid: readU64(req, 16), message });
}

// Small replies: the data is read into the reply buffer after the header and
// written with it (one copy more, two syscalls). Larger ones are spliced from
// the backing file (memory/splice.ts): the kernel's copy into the caller is
// the only one, and nothing is mapped (native-notes/performance.md).
const SPLICE_FROM = 16 << 10;

function serveRead(fh: number, backingFd: number, decide: boolean, n: number): void {
  const offset = readU64(req, 48);
  const size = req.readUInt32LE(56);
  const fileSize = table.size(fh);
  const want = offset >= fileSize ? 0 : Math.min(size, fileSize - offset, MAX_WRITE);
  if (want === 0) {
    send(OUT_HEADER_SIZE, 0);
    return;
  }
  prof?.lap('decode');
  const verdict = decide ? decided(fh, offset, want, false, n) : UNDECIDED;
  if (verdict === null) return;
  const position = table.offset(fh) + offset;
  writeOutHeader(reply, OUT_HEADER_SIZE + want, 0, req);
  try {
    if (want < SPLICE_FROM || !pipe) {
      if (preadSync(backingFd, reply.subarray(OUT_HEADER_SIZE, OUT_HEADER_SIZE + want), position) !== want) throw new Error('backing file ended inside the reply');
      prof?.lap('data');
      sendReply(fd, reply, OUT_HEADER_SIZE + want, replyFailed);
      prof?.lap('reply');
    } else {
      pipe.send(fd, reply.subarray(0, OUT_HEADER_SIZE), backingFd, position, want);
      prof?.lap('data');
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT: the kernel dropped an interrupted request, nothing to answer
    if (code === 'ENOENT') return;
    if (code === 'EINVAL' || code === 'EPIPE' || code === 'ENODEV') {
      replyFailed(err as NodeJS.ErrnoException);
      return;
    }
    failed('READ', err);
    send(OUT_HEADER_SIZE, EIO);
    return;
  }
  table.count(fh, false, want);
  verdict?.count();
}

/**
 * The classifier's verdict on an O_DIRECT request: to serve (count it after),
 * or null when it was answered (refused) or handed to the main thread here.
 */
function decided(fh: number, offset: number, len: number, write: boolean, n: number): Extract<DirectVerdict, { kind: 'serve' }> | null {
  let v: DirectVerdict = { kind: 'main' };
  try {
    v = classify!({ slot: table.statsSlot(fh), tid: req.readUInt32LE(32), node: Number(req.readBigUInt64LE(16)), offset, len, write });
  } catch (err) {
    // a bug in the classifier: the main thread decides (and the bug is logged)
    failed(write ? 'WRITE' : 'READ', err, false);
  }
  prof?.lap('classify');
  if (v.kind === 'serve') return v;
  if (v.kind === 'refuse') send(OUT_HEADER_SIZE, v.errno);
  else toMain(n);
  return null;
}

const WRITE_DATA = 40 + 40; // in header + fuse_write_in

function serveWrite(fh: number, backingFd: number, decide: boolean, n: number): void {
  if (!table.writable(fh)) {
    send(OUT_HEADER_SIZE, EBADF);
    return;
  }
  const offset = readU64(req, 48);
  const size = req.readUInt32LE(56);
  const fileSize = table.size(fh);
  if (offset >= fileSize && size > 0) {
    send(OUT_HEADER_SIZE, table.pastEndEfbig(fh) ? EFBIG : ENOSPC);
    return;
  }
  const len = Math.min(size, fileSize - offset);
  prof?.lap('decode');
  const verdict = decide && len > 0 ? decided(fh, offset, len, true, n) : UNDECIDED;
  if (verdict === null) return;
  let done = 0;
  // pwrite beats a memcpy into the shared mapping here (0.49 vs 0.43 of raw, make bench)
  try {
    const base = table.offset(fh) + offset;
    while (done < len) done += writeSync(backingFd, req, WRITE_DATA + done, len - done, base + done);
  } catch (err) {
    failed('WRITE', err);
    send(OUT_HEADER_SIZE, EIO);
    return;
  }
  prof?.lap('data');
  reply.writeUInt32LE(done, OUT_HEADER_SIZE);
  reply.writeUInt32LE(0, OUT_HEADER_SIZE + 4);
  send(OUT_HEADER_SIZE + 8, 0);
  prof?.lap('reply');
  table.count(fh, true, done);
  verdict?.count();
}

function loop(): void {
  for (;;) {
    let n: number;
    prof?.lap('decode');
    try {
      n = readSync(fd, req, 0, req.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: the request we were about to read was interrupted; read again.
      if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') continue;
      // EPERM: mount(2) has not attached the fd to a connection yet (readers start
      // before mount(8) returns, so INIT is read as soon as it exists).
      if (code === 'EPERM') {
        Atomics.wait(nap, 0, 0, 2);
        continue;
      }
      // ENODEV: unmounted (or the connection was aborted): leave quietly.
      prof?.write();
      post({ type: 'exit', code: code ?? 'unknown' });
      return;
    }
    if (prof) {
      prof.lap('wait');
      prof.requests++;
    }
    const opcode = req.readUInt32LE(4);
    // remember the request until it is answered or handed on
    req.copy(inflightUnique, 0, 8, 16);
    inflight[INFLIGHT_OPCODE] = opcode;
    Atomics.store(inflight, INFLIGHT_BUSY, 1);
    serve(opcode, n);
    Atomics.store(inflight, INFLIGHT_BUSY, 0);
  }
}

function serve(opcode: number, n: number): void {
  // test-only: die holding this request, as a crash in the data path would
  if (testHook && opcode === Opcode.READ && readU64(req, 16) === testHook.dieOnReadOf) process.exit(1);
  if (opcode === Opcode.READ || opcode === Opcode.WRITE) {
    const fh = readU64(req, 40);
    const backingFd = table.backingFd(fh);
    // read_in.flags / write_in.flags: the open flags of the caller's file
    const direct = (req.readUInt32LE(40 + 32) & O_DIRECT) !== 0;
    if (backingFd >= 0 && direct) {
      // block-device rule: O_DIRECT offset and length in whole logical blocks
      const align = table.directAlign(fh);
      if (align > 0 && (readU64(req, 48) % align !== 0 || req.readUInt32LE(56) % align !== 0)) {
        send(OUT_HEADER_SIZE, EINVAL);
        return;
      }
    }
    const decide = backingFd >= 0 && direct && table.directNeedsMain(fh);
    if (backingFd >= 0 && (!decide || classify)) {
      if (opcode === Opcode.READ) serveRead(fh, backingFd, decide, n);
      else serveWrite(fh, backingFd, decide, n);
      return;
    }
  }
  toMain(n);
}

/** Hands the request (its first n bytes) to the main thread. */
function toMain(n: number): void {
  prof?.lap('decode');
  prof?.handOn(req.readUInt32LE(4));
  const copy = new Uint8Array(n);
  copy.set(req.subarray(0, n));
  post(copy, [copy.buffer]);
  prof?.lap('handoff');
}

loop();
