// What a reader thread and the session tell each other: the data a reader
// starts with, the messages it posts, and the shared slot that holds the
// request it is serving (so the session can answer it if the reader dies).

import type { DirectClassifierSpec } from '../fs-types.js';
import type { HandleTableBuffers } from './handle-table.js';

/** Int32 words of the in-flight slot: busy flag, opcode, then the 8 unique bytes (words 2 and 3). */
export const INFLIGHT_BUSY = 0;
export const INFLIGHT_OPCODE = 1;
export const INFLIGHT_UNIQUE = 2;
export const INFLIGHT_WORDS = 4;

export interface ReaderTestHook {
  /** exit without answering a READ of this node (tests of a reader that dies mid-request) */
  dieOnReadOf: number;
}

export interface ReaderData {
  fd: number;
  tables: HandleTableBuffers;
  /** INFLIGHT_WORDS Int32 words: the request this reader is serving */
  inflight: SharedArrayBuffer;
  /** the filesystem's classifier for O_DIRECT on checkDirect backings (absent: those go to the main thread) */
  classifier?: DirectClassifierSpec;
  testHook?: ReaderTestHook;
}

export type ReaderMessage =
  /** a request for the main thread */
  | Uint8Array
  /** the reader left /dev/fuse (unmounted, or the connection aborted) */
  | { type: 'exit'; code: string }
  /** a data-path failure answered EIO */
  | { type: 'failed'; op: string; nodeid: number; message: string }
  /** the kernel refused a reply */
  | { type: 'reply-failed'; op: number; code: string; message: string };
