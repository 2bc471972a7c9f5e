// Config space bytes as text, the way `lspci -xxx` prints them: one line per
// 16 bytes, "OFFSET: b0 b1 … b15" in hex. A topology holds them under
// `config:`; lines left out read as zeros, so a recording lists only the
// lines that carry something, and `config_size` says how long the space is.

/** The config space sizes a function can have: what a non-root reader sees, conventional PCI, PCI Express. */
export const CONFIG_SIZES = [64, 256, 4096] as const;

const BYTES_PER_LINE = 16;

/** The smallest config size that holds `length` bytes. */
export function configSizeFor(length: number): number {
  return CONFIG_SIZES.find((s) => s >= length) ?? 4096;
}

export type HexProblem = { line: number; problem: string };

/**
 * Parses hex lines into `size` bytes (or the smallest size that holds them).
 * Returns the bytes or the first problem with its 1-based line number.
 */
export function parseConfigHex(text: string, size: number | undefined): Buffer | HexProblem {
  const bytes = new Map<number, number>();
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([0-9a-f]{1,3}):((?:\s+[0-9a-f]{2})*)\s*$/i.exec(line);
    if (!m) return { line: i + 1, problem: `bad config line "${line.slice(0, 60)}" (expected "OFFSET: xx xx …" in hex, as lspci -xxx prints)` };
    const offset = parseInt(m[1]!, 16);
    const values = m[2]!.trim().split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16));
    if (values.length > BYTES_PER_LINE) return { line: i + 1, problem: `config line ${m[1]} has ${values.length} bytes (at most ${BYTES_PER_LINE})` };
    for (const [j, v] of values.entries()) {
      if (bytes.has(offset + j)) return { line: i + 1, problem: `config byte 0x${(offset + j).toString(16)} is given twice` };
      bytes.set(offset + j, v);
    }
  }
  const highest = bytes.size ? Math.max(...bytes.keys()) + 1 : 0;
  const length = size ?? configSizeFor(highest);
  if (highest > length) return { line: 0, problem: `config bytes reach 0x${(highest - 1).toString(16)}, beyond config_size ${length}` };
  const out = Buffer.alloc(length);
  for (const [off, v] of bytes) out[off] = v;
  return out;
}

/** Bytes as hex lines; all-zero lines are left out unless `all` (the parser reads missing lines as zeros). */
export function formatConfigHex(bytes: Buffer, all = false): string {
  const out: string[] = [];
  for (let off = 0; off < bytes.length; off += BYTES_PER_LINE) {
    const line = bytes.subarray(off, off + BYTES_PER_LINE);
    if (!all && line.every((b) => b === 0)) continue;
    out.push(`${off.toString(16).padStart(2, '0')}: ${[...line].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
