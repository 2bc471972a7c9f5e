// One writer (the main thread) publishes a JSON document that reader threads
// copy when it changed, without messages (a reader blocked in read() on
// /dev/fuse never runs its event loop) and without locks: a sequence word,
// odd while the writer writes, tells a reader to read again.

const HEADER = 8;
const SEQ = 0;
const LEN = 1;

export class SharedSnapshot {
  readonly words: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(1 << 22)) {
    this.words = new Int32Array(buffer, 0, 2);
    this.bytes = new Uint8Array(buffer, HEADER);
  }

  /** Writer: publishes `doc`; false (nothing published) when it does not fit. */
  publish(doc: unknown): boolean {
    const text = Buffer.from(JSON.stringify(doc));
    if (text.length > this.bytes.length) return false;
    Atomics.add(this.words, SEQ, 1);
    this.bytes.set(text);
    Atomics.store(this.words, LEN, text.length);
    Atomics.add(this.words, SEQ, 1);
    return true;
  }

  /** The sequence number of what is published (even), or of what is being written (odd). */
  get sequence(): number {
    return Atomics.load(this.words, SEQ);
  }

  /** Reader: the document published at `sequence` (read again while the writer writes); undefined before the first. */
  read(): { sequence: number; doc: unknown } | undefined {
    for (;;) {
      const seq = Atomics.load(this.words, SEQ);
      if (seq === 0) return undefined;
      if (seq % 2 === 1) continue;
      const len = Atomics.load(this.words, LEN);
      const text = Buffer.from(this.bytes.slice(0, len)).toString();
      if (Atomics.load(this.words, SEQ) === seq) return { sequence: seq, doc: JSON.parse(text) };
    }
  }
}
