// A reader thread: blocks in read() on /dev/fuse, serves READ and WRITE on
// handles with a backing fd itself (data-path.ts) and hands every other
// request to the main thread. Serving the data path here, not on the main
// thread, is what makes 1 MiB O_DIRECT reach about half of raw tmpfs speed
// (DESIGN.md). Over io_uring (uring-queue-worker.ts) the readers stay: INIT,
// FORGET and INTERRUPT still come through /dev/fuse.

import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { HandleTable } from './handle-table.js';
import { OUT_HEADER_SIZE, READ_BUFFER_SIZE, MAX_WRITE } from './protocol.js';
import { sendReply, type ReplyFailure } from './reply.js';
import { SplicePipe } from '../memory/index.js';
import { INFLIGHT_BUSY, INFLIGHT_OPCODE, INFLIGHT_UNIQUE, type ReaderData, type ReaderMessage } from './reader-protocol.js';
import { readerProfile } from './reader-profile.js';
import { DataPath, loadClassifier, type Exchange } from './data-path.js';

const { fd, tables, inflight: inflightBuffer, classifier, testHook } = workerData as ReaderData;
const inflight = new Int32Array(inflightBuffer);
const inflightUnique = Buffer.from(inflightBuffer, INFLIGHT_UNIQUE * 4, 8);
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
const post = (msg: ReaderMessage, transfer?: ArrayBuffer[]) => parentPort!.postMessage(msg, transfer);
const path = new DataPath(new HandleTable(tables), await loadClassifier(classifier), post, prof, testHook);
const replyFailed: ReplyFailure = (err) => path.replyFailed(req, err);

const exchange: Exchange = {
  req,
  n: 0,
  reply,
  send: (len) => sendReply(fd, reply, len, replyFailed),
  splice: pipe ? (header, backingFd, position, want) => pipe.send(fd, header, backingFd, position, want) : undefined,
  toMain: () => {
    const copy = new Uint8Array(exchange.n);
    copy.set(req.subarray(0, exchange.n));
    post(copy, [copy.buffer]);
  },
};

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
    // remember the request until it is answered or handed on
    req.copy(inflightUnique, 0, 8, 16);
    inflight[INFLIGHT_OPCODE] = req.readUInt32LE(4);
    Atomics.store(inflight, INFLIGHT_BUSY, 1);
    exchange.n = n;
    path.serve(exchange);
    Atomics.store(inflight, INFLIGHT_BUSY, 0);
  }
}

loop();
