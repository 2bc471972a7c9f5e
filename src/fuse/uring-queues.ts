// The session's side of FUSE-over-io_uring: a queue thread per possible CPU
// (uring-queue-worker.ts), started before the mount so that a ring that
// cannot be made is known before INIT is answered. After INIT says
// FUSE_OVER_IO_URING the kernel holds every request until each queue has
// registered (fuse_block_alloc(), fs/fuse/dev.c; is_ring_ready(),
// fs/fuse/dev_uring.c): the choice cannot be taken back after INIT. Replies
// the main thread computes for a queue's requests go back to that queue (a
// port, and its eventfd to wake it in its ring).

import { readFileSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DirectClassifierSpec } from '../fs-types.js';
import { readU64 } from './codec.js';
import type { HandleTableBuffers } from './handle-table.js';
import { NO_REPLY } from './ops-table.js';
import { closeFd } from './uring-ring.js';
import type { ReaderMessage } from './reader-protocol.js';
import { QUEUE_CONTROL_STATE, QueueState, type QueueData, type QueueMessage } from './uring-protocol.js';

/** The kernel makes one queue per possible CPU (num_possible_cpus(), fuse_uring_create()). */
export function possibleCpus(): number {
  try {
    // "0-3" or "0,2-5"
    const spec = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    let max = -1;
    for (const part of spec.split(',')) max = Math.max(max, Number(part.split('-').pop()));
    if (max >= 0) return max + 1;
  } catch {
    /* fall through */
  }
  return cpus().length;
}

export interface UringQueuesOptions {
  fuseFd: number;
  tables: HandleTableBuffers;
  classifier?: DirectClassifierSpec;
  log: Logger;
  /** a request for the main thread */
  dispatch: (buf: Buffer) => void;
  /** what a queue's data path reported (failures, refused replies) */
  report: (msg: Exclude<ReaderMessage, Uint8Array>) => void;
  /** test-only: ring setup fails, as where io_uring is not allowed */
  testFailSetup?: boolean;
}

interface Queue {
  worker: Worker;
  control: Int32Array;
  port: MessagePort;
  eventfd: number;
}

export class UringQueues {
  private readonly queues: Queue[] = [];
  /** unique -> queue, for requests handed to the main thread until answered */
  private readonly pending = new Map<number, Queue>();
  private readonly one = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  /** resolves when every queue thread has left */
  exited: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: UringQueuesOptions) {}

  /** Starts the queues and waits for their rings: the queues, or why there are none. */
  static async start(opts: UringQueuesOptions): Promise<UringQueues | { failed: string }> {
    const q = new UringQueues(opts);
    const ready = await Promise.all(Array.from({ length: possibleCpus() }, (_, i) => q.startQueue(i)));
    const failed = ready.find((r) => r !== undefined);
    if (failed !== undefined) {
      q.leave();
      await q.exited;
      return { failed };
    }
    return q;
  }

  private startQueue(qid: number): Promise<string | undefined> {
    const control = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const data: QueueData = { fuseFd: this.opts.fuseFd, qid, tables: this.opts.tables, classifier: this.opts.classifier, control: control.buffer as SharedArrayBuffer, replies: port2, testFailSetup: this.opts.testFailSetup };
    const worker = new Worker(new URL('./uring-queue-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    const queue: Queue = { worker, control, port: port1, eventfd: -1 };
    this.queues.push(queue);
    const log = this.opts.log;
    let finished = false;
    const exit = new Promise<void>((res) => worker.on('exit', () => res()));
    const prior = this.exited;
    this.exited = Promise.all([prior, exit]).then(() => undefined);
    return new Promise((res) => {
      worker.on('message', (msg: QueueMessage | ReaderMessage) => {
        if (msg instanceof Uint8Array) {
          const buf = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
          if (!NO_REPLY.has(buf.readUInt32LE(4))) this.pending.set(readU64(buf, 8), queue);
          this.opts.dispatch(buf);
        } else if (msg.type === 'ring-ready') {
          queue.eventfd = msg.eventfd;
          res(undefined);
        } else if (msg.type === 'ring-failed') {
          finished = true;
          res(msg.message);
        }
        else if (msg.type === 'queue-error') log.error({ queue: qid }, msg.message);
        else if (msg.type === 'queue-exit') {
          finished = true;
          log.debug({ queue: qid, code: msg.code }, 'io_uring queue finished');
        } else if (msg.type === 'failed' || msg.type === 'reply-failed') this.opts.report(msg);
      });
      worker.on('error', (err) => {
        log.error({ err, queue: qid }, 'io_uring queue failed');
        res(String(err));
      });
      worker.on('exit', () => {
        port1.close();
        // the eventfd is closed here, once nothing can write it any more
        if (queue.eventfd >= 0) closeFd(queue.eventfd);
        queue.eventfd = -1;
        if (!finished) log.error({ queue: qid }, 'io_uring queue thread died');
        res('queue thread exited');
      });
    });
  }

  private tell(state: number): void {
    for (const q of this.queues) {
      Atomics.store(q.control, QUEUE_CONTROL_STATE, state);
      Atomics.notify(q.control, QUEUE_CONTROL_STATE);
    }
  }

  get count(): number {
    return this.queues.length;
  }

  /** INIT was answered with FUSE_OVER_IO_URING: every queue registers its entries. */
  register(): void {
    this.tell(QueueState.REGISTER);
  }

  /** The rings are not used: the queue threads leave. */
  leave(): void {
    this.tell(QueueState.LEAVE);
  }

  /** Sends a reply to the queue whose request it answers; false when it answers a /dev/fuse request. */
  route(reply: Buffer): boolean {
    const unique = readU64(reply, 8);
    const queue = this.pending.get(unique);
    if (!queue) return false;
    this.pending.delete(unique);
    if (queue.eventfd < 0) return true; // the queue is gone, and its connection with it
    queue.port.postMessage({ buf: new Uint8Array(reply) });
    writeSync(queue.eventfd, this.one);
    return true;
  }

  /** Ends the queue threads that have not left (their rings are gone with the connection). */
  async terminate(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.worker.terminate().catch(() => undefined)));
  }
}
