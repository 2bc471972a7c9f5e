// Byte sizes as people write them in topology files: 4096, 64KiB, 32 GiB, 1T.

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 2 ** 10,
  KB: 2 ** 10,
  KIB: 2 ** 10,
  M: 2 ** 20,
  MB: 2 ** 20,
  MIB: 2 ** 20,
  G: 2 ** 30,
  GB: 2 ** 30,
  GIB: 2 ** 30,
  T: 2 ** 40,
  TB: 2 ** 40,
  TIB: 2 ** 40,
};

/** The largest size a topology may give: sizes are exact JavaScript integers (below 2^53 bytes, 8 PiB). */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** A size, or why the text is not one: "syntax" (not a size at all) or "too-large" (a size beyond MAX_SIZE). */
export function parseSizeChecked(input: string | number): number | 'syntax' | 'too-large' {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0) return 'syntax';
    return input > MAX_SIZE ? 'too-large' : input;
  }
  const m = /^\s*(\d+(?:\.\d+)?|0x[0-9a-f]+)\s*([a-z]*)\s*$/i.exec(input);
  if (!m) return 'syntax';
  const unit = UNITS[m[2]!.toUpperCase()];
  if (unit === undefined) return 'syntax';
  const value = m[1]!.toLowerCase().startsWith('0x') ? parseInt(m[1]!, 16) : Number(m[1]);
  const bytes = value * unit;
  if (bytes > MAX_SIZE) return 'too-large';
  return Number.isInteger(bytes) ? bytes : 'syntax';
}

/** Parses a size; returns undefined for anything that is not one. Units are binary (KB = KiB, as in the kernel's memparse). */
export function parseSize(input: string | number): number | undefined {
  const n = parseSizeChecked(input);
  return typeof n === 'number' ? n : undefined;
}

/** 33554432 → "32MiB"; sizes that are not a whole unit stay in bytes. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return "0";
  for (const [unit, mul] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= mul && bytes % mul === 0) return `${bytes / mul}${unit}`;
  }
  return `${bytes}B`;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

export function roundUpPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
