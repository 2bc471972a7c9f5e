// One open of /dev/kmsg (struct devkmsg_user, kernel/printk/printk.c): a
// write is one record with an optional "<N>" syslog prefix; a read returns the
// next record, formatted, or fails the way devkmsg_read() fails.

import { kernelError } from '../errno.js';
import { formatKmsg, KERN_WARNING, LOG_USER, PRINTKRB_RECORD_MAX, type KernelLog } from './klog.js';

/** default_message_loglevel (CONFIG_MESSAGE_LOGLEVEL_DEFAULT): the level of a line written without a prefix */
export const DEFAULT_MESSAGE_LOGLEVEL = KERN_WARNING;
/** DEFAULT_RATELIMIT_INTERVAL and _BURST: printk.devkmsg=ratelimit (the default) lets 10 lines per 5 s through per open */
export const DEVKMSG_RATELIMIT_INTERVAL_MS = 5000;
export const DEVKMSG_RATELIMIT_BURST = 10;

export type KmsgWhence = 'set' | 'end';

/** "<N>" at the start: simple_strtoul() in base 10, wrapping, then the low 32 bits; undefined when there is no ">" after the digits. */
function syslogPrefix(line: Buffer): { value: number; length: number } | undefined {
  if (line[0] !== 0x3c) return undefined;
  let v = 0n;
  let i = 1;
  for (; i < line.length && line[i]! >= 0x30 && line[i]! <= 0x39; i++) v = (v * 10n + BigInt(line[i]! - 0x30)) & 0xffff_ffff_ffff_ffffn;
  return line[i] === 0x3e ? { value: Number(v & 0xffff_ffffn), length: i + 1 } : undefined;
}

export class DevkmsgUser {
  /** the next record this reader gets */
  private seq: number;
  private window = { begin: 0, printed: 0 };
  private missed = 0;

  constructor(private readonly klog: KernelLog) {
    // devkmsg_open(): a reader starts at the oldest record still in the ring
    this.seq = klog.firstSeq();
  }

  // kernel: ___ratelimit(), lib/ratelimit.c
  private allowed(now: number): boolean {
    if (now - this.window.begin >= DEVKMSG_RATELIMIT_INTERVAL_MS) this.window = { begin: now, printed: 0 };
    if (this.window.printed < DEVKMSG_RATELIMIT_BURST) {
      this.window.printed++;
      return true;
    }
    this.missed++;
    return false;
  }

  // kernel: devkmsg_write(), kernel/printk/printk.c
  /** One record from one write(): EINVAL over PRINTKRB_RECORD_MAX bytes; the whole length is taken, even when rate-limited. */
  write(data: Buffer, now = Date.now()): number {
    if (data.length > PRINTKRB_RECORD_MAX) throw kernelError('EINVAL', `a /dev/kmsg record takes at most ${PRINTKRB_RECORD_MAX} bytes`);
    if (!this.allowed(now)) return data.length;
    // the buffer is a C string: an embedded NUL ends the text
    const nul = data.indexOf(0);
    let line = nul < 0 ? data : data.subarray(0, nul);
    let level = DEFAULT_MESSAGE_LOGLEVEL;
    let facility = LOG_USER;
    const prefix = syslogPrefix(line);
    if (prefix) {
      level = prefix.value & 7;
      // a prefix without a facility keeps LOG_USER: injected lines never pass for the kernel's
      if ((prefix.value >>> 3) & 0xff) facility = (prefix.value >>> 3) & 0xff;
      line = line.subarray(prefix.length);
    }
    // vprintk_store() reserves at most PRINTKRB_RECORD_MAX; printk_sprint() drops one trailing newline
    let text = line.subarray(0, PRINTKRB_RECORD_MAX - 1).toString('latin1');
    if (text.endsWith('\n')) text = text.slice(0, -1);
    this.klog.log(level, text, facility);
    return data.length;
  }

  // kernel: devkmsg_read(), kernel/printk/printk.c
  /**
   * The next record, formatted. EPIPE once when records were overwritten
   * before this reader got them (it then resumes at the oldest); EINVAL when
   * the record does not fit `size` (it is skipped, as in the kernel); at the
   * newest record EAGAIN for a non-blocking reader, else an empty buffer.
   */
  read(size: number, nonblock: boolean): Buffer {
    const first = this.klog.firstSeq();
    if (this.seq < first) {
      this.seq = first;
      throw kernelError('EPIPE', 'records were overwritten before they were read');
    }
    const rec = this.klog.record(this.seq);
    if (!rec) {
      if (nonblock) throw kernelError('EAGAIN', 'no new record');
      // differs: the kernel blocks here until the next record; see native-notes/sysfs-tree.md
      return Buffer.alloc(0);
    }
    this.seq++;
    const out = Buffer.from(formatKmsg(rec), 'latin1');
    if (out.length > size) throw kernelError('EINVAL', `the record needs ${out.length} bytes, the read gives ${size}`);
    return out;
  }

  // kernel: devkmsg_llseek(), kernel/printk/printk.c
  seek(whence: KmsgWhence): void {
    this.seq = whence === 'set' ? this.klog.firstSeq() : this.klog.nextSeq();
  }

  // kernel: ratelimit_state_exit(), include/linux/ratelimit.h
  /** The file is closed: lines the rate limit dropped are counted in one warning. */
  release(comm: string): void {
    if (this.missed > 0) this.klog.log(KERN_WARNING, `${comm}: ${this.missed} output lines suppressed due to ratelimiting`);
    this.missed = 0;
  }
}
