// One request read from /dev/fuse, decoded lazily at fixed offsets.

import { IN_HEADER_SIZE, readU64 } from './codec.js';
import type { Caller } from './types.js';

export class FuseRequest {
  readonly opcode: number;
  readonly nodeid: number;
  readonly caller: Caller;

  constructor(readonly buf: Buffer) {
    this.opcode = buf.readUInt32LE(4);
    this.nodeid = readU64(buf, 16);
    this.caller = { uid: buf.readUInt32LE(24), gid: buf.readUInt32LE(28), pid: buf.readUInt32LE(32) };
  }

  /** The 8 unique bytes as a number, for logs and interrupt matching. */
  get unique(): number {
    return readU64(this.buf, 8);
  }

  u32(bodyOffset: number): number {
    return this.buf.readUInt32LE(IN_HEADER_SIZE + bodyOffset);
  }

  u64(bodyOffset: number): number {
    return readU64(this.buf, IN_HEADER_SIZE + bodyOffset);
  }

  body(from = 0, to?: number): Buffer {
    return this.buf.subarray(IN_HEADER_SIZE + from, to === undefined ? undefined : IN_HEADER_SIZE + to);
  }

  /** A NUL-terminated name starting at bodyOffset. */
  name(bodyOffset = 0): string {
    const start = IN_HEADER_SIZE + bodyOffset;
    const end = this.buf.indexOf(0, start);
    return this.buf.toString('utf8', start, end < 0 ? this.buf.length : end);
  }
}
