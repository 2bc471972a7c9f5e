// Every answer to a request leaves through here: one header writer for the
// reader threads, the dispatcher and the answer for a reader that died, and
// one writer that tells an interrupted request (ENOENT: the kernel dropped
// it, nothing to answer) from a reply the kernel refused (reported).

import { writeSync, writevSync } from 'node:fs';

/** Offset of `unique` in struct fuse_in_header, copied verbatim into the reply. */
export const UNIQUE_OFFSET = 8;
const UNIQUE_SIZE = 8;

/**
 * struct fuse_out_header at the start of `out`: total length, the error as the
 * kernel wants it (minus the errno; 0 for success) and the request's unique,
 * copied from `unique` at `at` (a request buffer, or 8 bytes kept elsewhere).
 */
export function writeOutHeader(out: Buffer, totalLen: number, errno: number, unique: Buffer, at = UNIQUE_OFFSET): void {
  out.writeUInt32LE(totalLen, 0);
  out.writeInt32LE(errno === 0 ? 0 : -errno, 4);
  unique.copy(out, UNIQUE_OFFSET, at, at + UNIQUE_SIZE);
}

/** What a refused reply write is handed to: the daemon logs it (a reader posts it to the main thread first). */
export type ReplyFailure = (err: NodeJS.ErrnoException) => void;

/**
 * Writes one reply: a buffer (its first `len` bytes), or header and payload
 * parts with one writev, as the kernel takes a reply only whole.
 */
export function sendReply(fd: number, reply: Buffer | Buffer[], len: number | undefined, onFailure: ReplyFailure): void {
  try {
    if (Array.isArray(reply)) writevSync(fd, reply);
    else writeSync(fd, reply, 0, len ?? reply.length);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onFailure(err as NodeJS.ErrnoException);
  }
}
