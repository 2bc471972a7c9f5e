// Where a reader thread's time goes, request by request, when P2PEMU_PROFILE
// names a file (native-notes/performance.md): the time between laps is added
// to the phase each lap names, and the totals (with how many laps each had)
// are appended to that file as a JSON line when the reader leaves /dev/fuse.
// Off (undefined) otherwise: the data path pays nothing for it.

import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { OPCODE_NAMES } from './protocol.js';

/** The phases of a request in a reader thread. */
export type ReaderPhase =
  /** read() of /dev/fuse: the kernel's copy of the request, and idle time waiting for one */
  | 'wait'
  /** opcode, handle table, alignment check */
  | 'decode'
  /** the O_DIRECT decision (classifier: /proc/TID/syscall, the mirrored I/O path) */
  | 'classify'
  /** pread/pwrite of the backing file, or the splice of a large read */
  | 'data'
  /** write() of the reply to /dev/fuse */
  | 'reply'
  /** a request handed to the main thread (copy and postMessage) */
  | 'handoff';

export class ReaderProfile {
  private at = process.hrtime.bigint();
  private readonly totals = new Map<ReaderPhase, bigint>();
  private readonly laps = new Map<ReaderPhase, number>();
  /** requests handed to the main thread, by opcode */
  private readonly handedOn = new Map<number, number>();
  requests = 0;

  constructor(private readonly file: string) {}

  lap(phase: ReaderPhase): void {
    const now = process.hrtime.bigint();
    this.totals.set(phase, (this.totals.get(phase) ?? 0n) + now - this.at);
    this.laps.set(phase, (this.laps.get(phase) ?? 0) + 1);
    this.at = now;
  }

  handOn(opcode: number): void {
    this.handedOn.set(opcode, (this.handedOn.get(opcode) ?? 0) + 1);
  }

  write(): void {
    const us = Object.fromEntries([...this.totals].map(([k, v]) => [k, Number(v / 1000n)]));
    appendFileSync(this.file, JSON.stringify({ thread: threadId, requests: this.requests, us, laps: Object.fromEntries(this.laps), handedOn: Object.fromEntries([...this.handedOn].map(([op, n]) => [OPCODE_NAMES[op] ?? op, n])) }) + '\n');
  }
}

/** A profile when P2PEMU_PROFILE names a file. */
export function readerProfile(): ReaderProfile | undefined {
  const file = process.env.P2PEMU_PROFILE;
  return file ? new ReaderProfile(file) : undefined;
}
