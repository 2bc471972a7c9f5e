// Control files of the emulator (debugfs dma and dmabuf, dev/hmm_dmirrorN): each
// write is one command, and reading the same open file returns its result.

import type { Caller } from './caller.js';
import type { DeviceFile } from './node.js';

/** bytes [offset, offset+size) of buf, clipped to `limit` (a read past the end is empty). */
export function sliceAt(buf: Buffer, offset: number, size: number, limit = buf.length): Buffer {
  const end = Math.min(limit, buf.length);
  return buf.subarray(Math.min(offset, end), Math.min(offset + size, end));
}

export type CommandHandler = (command: string, caller: Caller) => string | Promise<string>;

export class CommandFile implements DeviceFile {
  private result = Buffer.from('\n');

  constructor(private readonly run: CommandHandler) {}

  write(_offset: number, data: Buffer, caller: Caller): number | Promise<number> {
    const done = (r: string) => {
      this.result = Buffer.from(`${r}\n`);
      return data.length;
    };
    const r = this.run(data.toString().trim(), caller);
    return r instanceof Promise ? r.then(done) : done(r);
  }

  read(offset: number, size: number): Buffer {
    return sliceAt(this.result, offset, size);
  }
}
