// Control files of the emulator (debugfs dma and dmabuf, dev/hmm_dmirrorN).
// A write is a batch of commands, one per line, taken whole the way
// dynamic_debug's control file takes its queries (ddebug_proc_write(),
// lib/dynamic_debug.c): longer than COMMAND_WRITE_MAX is E2BIG with nothing
// run, every command runs in order, and the write fails with the errno of the
// last command that failed. Reading the same open file returns one result line
// per command ("error CODE: why" for a failed one).

import { KernelError, kernelError } from '../errno.js';
import type { Caller } from './caller.js';
import type { DeviceFile } from './node.js';

/**
 * The longest write a control file takes. FUSE hands a write of more than
 * 256 KiB (less for an unaligned buffer) over in pieces, and a piece cannot
 * tell it has a sequel: anything near that size is refused whole instead.
 */
export const COMMAND_WRITE_MAX = 64 * 1024;

/** bytes [offset, offset+size) of buf, clipped to `limit` (a read past the end is empty). */
export function sliceAt(buf: Buffer, offset: number, size: number, limit = buf.length): Buffer {
  const end = Math.min(limit, buf.length);
  return buf.subarray(Math.min(offset, end), Math.min(offset + size, end));
}

/** A number argument of a command: decimal or 0x hex, a safe integer; NaN otherwise. */
export function commandNumber(text: string | undefined): number {
  if (text === undefined || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) return NaN;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : NaN;
}

export type CommandHandler = (command: string, caller: Caller) => string | Promise<string>;

/** The commands of one write: lines, blank ones and # comments skipped. */
export function commandLines(data: Buffer): string[] {
  return data
    .toString('latin1')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export class CommandFile implements DeviceFile {
  private result = Buffer.from('\n');
  /** commands of one open file run one batch at a time, like a driver's per-file mutex */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly run: CommandHandler,
    private readonly onRelease?: () => void,
  ) {}

  write(_offset: number, data: Buffer, caller: Caller): Promise<number> {
    if (data.length > COMMAND_WRITE_MAX) throw kernelError('E2BIG', `a control write takes at most ${COMMAND_WRITE_MAX} bytes`);
    const batch = this.queue.then(() => this.runAll(commandLines(data), caller)).then(() => data.length);
    this.queue = batch.catch(() => undefined);
    return batch;
  }

  private async runAll(commands: string[], caller: Caller): Promise<void> {
    const out: string[] = [];
    let failed: KernelError | undefined;
    for (const c of commands) {
      try {
        out.push(await this.run(c, caller));
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        failed = err;
        out.push(`error ${err.message}`);
      }
    }
    this.result = Buffer.from(out.map((l) => `${l}\n`).join(''));
    if (failed) throw failed;
  }

  read(offset: number, size: number): Buffer {
    return sliceAt(this.result, offset, size);
  }

  release(): void {
    this.onRelease?.();
  }
}
