// The emulated kernel log: the lines a real kernel would print on these
// paths, in its wording, with printk levels and boot-relative timestamps, kept
// in a ring of fixed size as the printk ring buffer keeps them. Readers see it
// through the vfs (a /dev/kmsg file, model/devkmsg.ts).

export const KERN_ALERT = 1;
export const KERN_ERR = 3;
export const KERN_WARNING = 4;
export const KERN_NOTICE = 5;
export const KERN_INFO = 6;
export const KERN_DEBUG = 7;

/** syslog facility of kernel messages (0) and of lines written to /dev/kmsg (LOG_USER) */
export const LOG_KERN = 0;
export const LOG_USER = 1;

/** CONFIG_LOG_BUF_SHIFT's default (17): the bytes of text the ring holds */
export const LOG_BUF_LEN = 1 << 17;
/** PRB_AVGBITS: the ring has one record descriptor per 32 bytes of text */
const PRB_AVGBITS = 5;
/** PRINTKRB_RECORD_MAX (kernel/printk/internal.h): the most one record may reserve, its text one less */
export const PRINTKRB_RECORD_MAX = 1024;
/** PRINTK_MESSAGE_MAX: the most one formatted /dev/kmsg record takes */
export const PRINTK_MESSAGE_MAX = 2048;

export interface KlogRecord {
  facility: number;
  level: number;
  seq: number;
  /** microseconds since the emulated boot (the mount) */
  usec: number;
  /** the record's bytes, one character per byte (latin1) */
  text: string;
}

export type KlogListener = (rec: KlogRecord) => void;

// data_alloc() of kernel/printk/printk_ringbuffer.c: the text plus the block id, in whole words
const blockSize = (r: KlogRecord) => Math.ceil((r.text.length + 8) / 8) * 8;

/** The printk ring: the newest records that fit LOG_BUF_LEN bytes and LOG_BUF_LEN >> 5 descriptors, numbered from 0. */
export class KernelLog {
  private readonly records: KlogRecord[] = [];
  /** index in `records` of the oldest live record (older ones wait for a compaction) */
  private head = 0;
  private bytes = 0;
  private seq = 0;
  private readonly t0 = process.hrtime.bigint();
  private readonly listeners: KlogListener[] = [];
  private readonly maxRecords: number;

  constructor(private readonly bufLen = LOG_BUF_LEN) {
    this.maxRecords = bufLen >> PRB_AVGBITS;
  }

  // kernel: vprintk_store(), kernel/printk/printk.c
  /** Stores one record; text past PRINTKRB_RECORD_MAX - 1 bytes is cut; the oldest records make room. */
  log(level: number, text: string, facility = LOG_KERN): KlogRecord {
    // one character per byte: UTF-8 from the model becomes its bytes
    let bytes = /[^\x00-\xff]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
    if (bytes.length > PRINTKRB_RECORD_MAX - 1) bytes = bytes.slice(0, PRINTKRB_RECORD_MAX - 1);
    const rec: KlogRecord = { facility, level, seq: this.seq++, usec: Number((process.hrtime.bigint() - this.t0) / 1000n), text: bytes };
    this.records.push(rec);
    this.bytes += blockSize(rec);
    while (this.bytes > this.bufLen || this.records.length - this.head > this.maxRecords) this.bytes -= blockSize(this.records[this.head++]!);
    if (this.head > 4096 && this.head * 2 > this.records.length) {
      this.records.splice(0, this.head);
      this.head = 0;
    }
    for (const l of this.listeners) l(rec);
    return rec;
  }

  private readonly taints = new Set<string>();

  /** add_taint(): remembered for /proc/sys/kernel/tainted-style reporting */
  taint(flag: string): void {
    this.taints.add(flag);
  }

  get tainted(): string[] {
    return [...this.taints];
  }

  onRecord(l: KlogListener): void {
    this.listeners.push(l);
  }

  // kernel: prb_first_valid_seq(), kernel/printk/printk_ringbuffer.c
  firstSeq(): number {
    return this.records[this.head]?.seq ?? this.seq;
  }

  /** The sequence number the next record will get (prb_next_seq). */
  nextSeq(): number {
    return this.seq;
  }

  /** The record numbered `seq`, if it is still in the ring. */
  record(seq: number): KlogRecord | undefined {
    const first = this.firstSeq();
    return seq >= first && seq < this.seq ? this.records[this.head + seq - first] : undefined;
  }

  /** The records in the ring, oldest first. */
  all(): readonly KlogRecord[] {
    return this.records.slice(this.head);
  }

  /** Lines whose text contains `needle`, for tests and the explain command. */
  grep(needle: string): string[] {
    return this.all()
      .filter((r) => r.text.includes(needle))
      .map((r) => r.text);
  }
}

// kernel: msg_add_ext_text(), kernel/printk/printk.c
/** A record's text as /dev/kmsg shows it: control bytes, bytes ≥ 127 and backslashes as \xNN. */
export function escapeKmsgText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\xff\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

// kernel: info_print_ext_header(), kernel/printk/printk.c
/** /dev/kmsg record format: "prefix,seq,usec,-;text\n", prefix = facility << 3 | level, at most PRINTK_MESSAGE_MAX bytes. */
export function formatKmsg(r: KlogRecord): string {
  const head = `${(r.facility << 3) | r.level},${r.seq},${r.usec},-;`;
  return `${(head + escapeKmsgText(r.text)).slice(0, PRINTK_MESSAGE_MAX - 1)}\n`;
}

/** dmesg's default format: "[    1.234567] text". */
export function formatDmesg(r: Pick<KlogRecord, 'usec' | 'text'>): string {
  const sec = Math.floor(r.usec / 1e6);
  const frac = String(r.usec % 1e6).padStart(6, '0');
  return `[${String(sec).padStart(5, ' ')}.${frac}] ${r.text}\n`;
}
