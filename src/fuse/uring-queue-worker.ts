// A FUSE-over-io_uring queue thread: one per possible CPU (the kernel puts a
// request on the queue of the CPU its caller runs on, fuse_uring_task_to_queue(),
// fs/fuse/dev_uring.c). It makes its ring before the mount's INIT is answered
// (so a ring that cannot be made falls back to /dev/fuse), registers its
// entries once told INIT is answered (FUSE_IO_URING_CMD_REGISTER,
// fuse_uring_register()), then serves the data path itself (data-path.ts) and
// answers with FUSE_IO_URING_CMD_COMMIT_AND_FETCH (fuse_uring_commit_fetch()).
// Requests for the main thread are posted there; their replies come back on a
// port, and an eventfd read queued on the same ring wakes this thread for them.

import { readU64 } from './codec.js';
import { DataPath, loadClassifier, type Exchange } from './data-path.js';
import { HandleTable } from './handle-table.js';
import { NO_REPLY } from './ops-table.js';
import { MAX_WRITE, OUT_HEADER_SIZE, READ_BUFFER_SIZE } from './protocol.js';
import { readerProfile } from './reader-profile.js';
import type { ReaderMessage } from './reader-protocol.js';
import { allocRegion, freeRegion, IORING_OP_READ, IORING_OP_URING_CMD, makeEventfd, Ring, type Completion, type Region } from './uring-ring.js';
import { QUEUE_CONTROL_STATE, QueueState, type QueueData, type QueueMessage, type QueueReply } from './uring-protocol.js';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';

const CMD_REGISTER = 1;
const CMD_COMMIT_AND_FETCH = 2;
const ENTRIES = 8;
/** struct fuse_uring_req_header: in_out[128], op_in[128], struct fuse_uring_ent_in_out */
const OP_IN = 128;
const ENT_COMMIT_ID = 256 + 8;
const ENT_PAYLOAD_SZ = 256 + 16;
const HEADERS_SIZE = 288;
const IOVECS = 512;
/** the payload starts a page into an entry's memory; the reply's out header is built just before it */
const PAYLOAD = 4096;
const EVENTFD_TAG = 0xffffn;
const IN_HEADER = 40;

const { fuseFd, qid, tables, classifier, control: controlBuffer, replies, testFailSetup } = workerData as QueueData;
const control = new Int32Array(controlBuffer);
const post = (msg: QueueMessage | ReaderMessage, transfer?: ArrayBuffer[]) => parentPort!.postMessage(msg, transfer);

interface Entry {
  mem: Region;
  /** the out header then the payload: what a reply is built in */
  reply: Buffer;
}

let ring: Ring | undefined;
let entries: Entry[] = [];
let wake: { fd: number; buf: Region };

/** Gives back the ring and the entries' memory (a worker's exit would leave them mapped). */
function release(): void {
  ring?.close();
  for (const e of entries.splice(0)) freeRegion(e.mem);
  if (wake) freeRegion(wake.buf);
}

try {
  if (testFailSetup) throw new Error('test: ring setup refused');
  ring = new Ring(ENTRIES * 2);
  for (let i = 0; i < ENTRIES; i++) {
    const mem = allocRegion(PAYLOAD + MAX_WRITE);
    // iov[0]: the headers, iov[1]: the payload
    mem.view.writeBigUInt64LE(mem.address, IOVECS);
    mem.view.writeBigUInt64LE(BigInt(HEADERS_SIZE), IOVECS + 8);
    mem.view.writeBigUInt64LE(mem.address + BigInt(PAYLOAD), IOVECS + 16);
    mem.view.writeBigUInt64LE(BigInt(MAX_WRITE), IOVECS + 24);
    entries.push({ mem, reply: mem.view.subarray(PAYLOAD - OUT_HEADER_SIZE) });
  }
  wake = { fd: makeEventfd(), buf: allocRegion(4096) };
  post({ type: 'ring-ready', eventfd: wake.fd });
} catch (err) {
  release();
  post({ type: 'ring-failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(0);
}

const prof = readerProfile();
const path = new DataPath(new HandleTable(tables), await loadClassifier(classifier), post, prof, undefined);
/** a request other than WRITE is copied here whole (a WRITE's data stays in its entry) */
const scratch = Buffer.allocUnsafe(READ_BUFFER_SIZE);
/** unique -> entry, for the replies of requests handed to the main thread */
const handedOn = new Map<number, number>();

function queueCommand(op: number, index: number, commitId: bigint): void {
  const sqe = ring!.nextSqe();
  sqe.writeUInt8(IORING_OP_URING_CMD, 0);
  sqe.writeInt32LE(fuseFd, 4);
  sqe.writeUInt32LE(op, 8); // cmd_op
  sqe.writeBigUInt64LE(entries[index]!.mem.address + BigInt(IOVECS), 16);
  sqe.writeUInt32LE(2, 24);
  sqe.writeBigUInt64LE(BigInt(index), 32);
  // struct fuse_uring_cmd_req at cmd[] (offset 48): flags, commit_id, qid
  sqe.writeBigUInt64LE(commitId, 56);
  sqe.writeUInt16LE(qid, 64);
}

function queueWakeRead(): void {
  const sqe = ring!.nextSqe();
  sqe.writeUInt8(IORING_OP_READ, 0);
  sqe.writeInt32LE(wake.fd, 4);
  sqe.writeBigInt64LE(-1n, 8);
  sqe.writeBigUInt64LE(wake.buf.address, 16);
  sqe.writeUInt32LE(8, 24);
  sqe.writeBigUInt64LE(EVENTFD_TAG, 32);
}

/** Answers the entry's request with the reply built in entry.reply (its first len bytes) and fetches the next. */
function commit(index: number, len: number): void {
  const e = entries[index]!;
  e.reply.copy(e.mem.view, 0, 0, OUT_HEADER_SIZE);
  e.mem.view.writeUInt32LE(len - OUT_HEADER_SIZE, ENT_PAYLOAD_SZ);
  queueCommand(CMD_COMMIT_AND_FETCH, index, e.mem.view.readBigUInt64LE(ENT_COMMIT_ID));
}

const exchange: Exchange & { index: number } = {
  req: scratch,
  n: 0,
  reply: scratch,
  index: 0,
  send: (len) => commit(exchange.index, len),
  toMain: () => {
    const copy = new Uint8Array(exchange.n);
    copy.set(exchange.req.subarray(0, exchange.n));
    const opcode = exchange.req.readUInt32LE(4);
    if (NO_REPLY.has(opcode)) {
      // NOTIFY_REPLY: nothing is answered, but the entry comes back only with a commit
      writeEmptyReply(exchange.index, exchange.req);
      commit(exchange.index, OUT_HEADER_SIZE);
    } else {
      handedOn.set(readU64(exchange.req, 8), exchange.index);
    }
    post(copy, [copy.buffer]);
  },
};

function writeEmptyReply(index: number, req: Buffer): void {
  const reply = entries[index]!.reply;
  reply.writeUInt32LE(OUT_HEADER_SIZE, 0);
  reply.writeInt32LE(0, 4);
  req.copy(reply, 8, 8, 16);
}

/** A request arrived in entry `index`: rebuild it as /dev/fuse would deliver it and serve it. */
function serveEntry(index: number): void {
  const view = entries[index]!.mem.view;
  const total = view.readUInt32LE(0);
  const payloadSize = view.readUInt32LE(ENT_PAYLOAD_SZ);
  const opSize = total - IN_HEADER - payloadSize;
  const opcode = view.readUInt32LE(4);
  let req: Buffer;
  if (opcode === 16 /* WRITE */) {
    // header and write_in just before the data, which stays where the kernel put it
    req = view.subarray(PAYLOAD - IN_HEADER - opSize, PAYLOAD + payloadSize);
    view.copy(req, 0, 0, IN_HEADER);
    view.copy(req, IN_HEADER, OP_IN, OP_IN + opSize);
  } else {
    req = scratch;
    view.copy(req, 0, 0, IN_HEADER);
    view.copy(req, IN_HEADER, OP_IN, OP_IN + opSize);
    view.copy(req, IN_HEADER + opSize, PAYLOAD, PAYLOAD + payloadSize);
  }
  exchange.req = req;
  exchange.n = total;
  exchange.reply = entries[index]!.reply;
  exchange.index = index;
  if (prof) {
    prof.lap('wait');
    prof.requests++;
  }
  path.serve(exchange);
}

/** Replies the main thread computed: each is committed on its entry. */
function takeReplies(): void {
  for (let m = receiveMessageOnPort(replies); m; m = receiveMessageOnPort(replies)) {
    const r = m.message as QueueReply;
    const buf = Buffer.from(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength);
    const unique = readU64(buf, 8);
    const index = handedOn.get(unique);
    if (index === undefined) continue;
    handedOn.delete(unique);
    const e = entries[index]!;
    buf.copy(e.reply, 0);
    commit(index, buf.length);
  }
}

// Wait for INIT's answer: registering before it fails (EAGAIN), and after an
// INIT without FUSE_OVER_IO_URING the ring is not wanted.
while (Atomics.load(control, QUEUE_CONTROL_STATE) === QueueState.WAIT) Atomics.wait(control, QUEUE_CONTROL_STATE, QueueState.WAIT);
if (Atomics.load(control, QUEUE_CONTROL_STATE) !== QueueState.REGISTER) {
  release();
  post({ type: 'queue-exit', code: 'not used' });
  process.exit(0);
}
for (let i = 0; i < ENTRIES; i++) queueCommand(CMD_REGISTER, i, 0n);
queueWakeRead();

const done: Completion[] = [];
let live = ENTRIES;
let exitCode = 'ENOTCONN';
while (live > 0) {
  prof?.lap('decode');
  try {
    ring!.wait();
  } catch (err) {
    exitCode = (err as NodeJS.ErrnoException).code ?? 'unknown';
    break;
  }
  done.length = 0;
  ring!.drain(done);
  for (const c of done) {
    if (c.userData === EVENTFD_TAG) {
      takeReplies();
      if (c.res >= 0) queueWakeRead();
      continue;
    }
    const index = Number(c.userData);
    if (c.res < 0) {
      // -ENOTCONN / -ECANCELED: the connection ended (unmounted, aborted); anything else: registration refused
      live--;
      if (c.res !== -107 && c.res !== -125) {
        exitCode = `command failed: errno ${-c.res}`;
        post({ type: 'queue-error', message: `queue ${qid}: FUSE io_uring command failed (errno ${-c.res})` });
      }
      continue;
    }
    serveEntry(index);
  }
}
prof?.write();
release();
// the session closes the eventfd after this thread is gone (it writes to it until then)
post({ type: 'queue-exit', code: exitCode });
