// The emulated kernel log: the lines a real kernel would print on these
// paths, in its wording, with printk levels and boot-relative timestamps.
// Readers see it through the vfs (a /dev/kmsg-like file).

export const KERN_ALERT = 1;
export const KERN_ERR = 3;
export const KERN_WARNING = 4;
export const KERN_NOTICE = 5;
export const KERN_INFO = 6;
export const KERN_DEBUG = 7;

export interface KlogRecord {
  level: number;
  seq: number;
  /** microseconds since the emulated boot (the mount) */
  usec: number;
  text: string;
}

export type KlogListener = (rec: KlogRecord) => void;

/** Keeps the newest records (like the printk ring buffer), numbered from 0. */
export class KernelLog {
  private readonly records: KlogRecord[] = [];
  private seq = 0;
  private readonly t0 = process.hrtime.bigint();
  private readonly listeners: KlogListener[] = [];

  constructor(private readonly capacity = 65536) {}

  log(level: number, text: string): void {
    const rec: KlogRecord = { level, seq: this.seq++, usec: Number((process.hrtime.bigint() - this.t0) / 1000n), text };
    this.records.push(rec);
    if (this.records.length > this.capacity) this.records.shift();
    for (const l of this.listeners) l(rec);
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

  all(): readonly KlogRecord[] {
    return this.records;
  }

  /** Lines whose text contains `needle`, for tests and the explain command. */
  grep(needle: string): string[] {
    return this.records.filter((r) => r.text.includes(needle)).map((r) => r.text);
  }
}

/** /dev/kmsg record format: "level,seq,usec,-;text\n". */
export function formatKmsg(r: KlogRecord): string {
  return `${r.level},${r.seq},${r.usec},-;${r.text}\n`;
}

/** dmesg's default format: "[    1.234567] text". */
export function formatDmesg(r: KlogRecord): string {
  const sec = Math.floor(r.usec / 1e6);
  const frac = String(r.usec % 1e6).padStart(6, '0');
  return `[${String(sec).padStart(5, ' ')}.${frac}] ${r.text}\n`;
}
