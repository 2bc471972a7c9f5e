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

/** Parses a size; returns undefined for anything that is not one. Units are binary (KB = KiB, as in the kernel's memparse). */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?|0x[0-9a-f]+)\s*([a-z]*)\s*$/i.exec(input);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toUpperCase()];
  if (unit === undefined) return undefined;
  const value = m[1]!.toLowerCase().startsWith('0x') ? parseInt(m[1]!, 16) : Number(m[1]);
  const bytes = value * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
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
