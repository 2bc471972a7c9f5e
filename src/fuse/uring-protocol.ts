// What a FUSE-over-io_uring queue thread and the session tell each other.

import type { DirectClassifierSpec } from '../fs-types.js';
import type { MessagePort } from 'node:worker_threads';
import type { HandleTableBuffers } from './handle-table.js';

/** Int32 word of the control slot the session moves a waiting queue on with. */
export const QUEUE_CONTROL_STATE = 0;
export const QueueState = {
  /** ring made, INIT not answered yet */
  WAIT: 0,
  /** INIT answered with FUSE_OVER_IO_URING: register the entries and serve */
  REGISTER: 1,
  /** INIT answered without it (or the mount failed): leave */
  LEAVE: 2,
} as const;

export interface QueueData {
  fuseFd: number;
  /** the queue's index: the CPU whose callers it serves */
  qid: number;
  tables: HandleTableBuffers;
  classifier?: DirectClassifierSpec;
  /** one Int32 word, QueueState */
  control: SharedArrayBuffer;
  /** replies to the requests this queue handed to the main thread */
  replies: MessagePort;
  /** test-only: the ring cannot be made (as where io_uring is disabled) */
  testFailSetup?: boolean;
}

/** A reply for a queue: the whole reply as /dev/fuse would take it. */
export interface QueueReply {
  buf: Uint8Array;
}

export type QueueMessage =
  | { type: 'ring-ready'; eventfd: number }
  | { type: 'ring-failed'; message: string }
  | { type: 'queue-error'; message: string }
  | { type: 'queue-exit'; code: string };
