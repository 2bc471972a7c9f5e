// Parsing of attribute writes the way lib/kstrtox.c does. A store gets a
// NUL-terminated buffer, so an embedded NUL ends the string. kstrtoul() and
// friends take one trailing newline, base 0 picks 0x hex / 0 octal / decimal,
// a leading '+' (and '-' for signed) is accepted, anything else is EINVAL and
// a value out of range ERANGE. Most PCI stores turn any failure into EINVAL
// (`if (kstrtoul(buf, 0, &val) < 0) return -EINVAL;`): the *OrEinval forms.

import { kernelError, KernelError } from '../../errno.js';

/** The C string a store sees: everything up to the first NUL. */
export function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

export type KstrtoBase = 0 | 10;

// kernel: _kstrtoull(), lib/kstrtox.c
function parse(text: string, signed: boolean, max: bigint, min: bigint, base: KstrtoBase): bigint {
  const c = cString(text);
  let s = c.endsWith('\n') ? c.slice(0, -1) : c;
  let neg = false;
  if (signed && s.startsWith('-')) {
    neg = true;
    s = s.slice(1);
  } else if (s.startsWith('+')) s = s.slice(1);
  let digits: RegExp;
  let prefix = '';
  if (base === 10) {
    digits = /^[0-9]+$/;
  } else if (/^0x[0-9a-f]/i.test(s)) {
    digits = /^[0-9a-f]+$/i;
    prefix = '0x';
    s = s.slice(2);
  } else if (s.length > 1 && s.startsWith('0')) {
    digits = /^[0-7]+$/;
    prefix = '0o';
    s = s.slice(1);
  } else {
    digits = /^[0-9]+$/;
  }
  if (!digits.test(s)) throw kernelError('EINVAL', `invalid number ${JSON.stringify(text)}`);
  let v = BigInt(prefix + s);
  if (neg) v = -v;
  if (v > max || v < min) throw kernelError('ERANGE', `${c.trim()} is out of range`);
  return v;
}

// kernel: kstrtoul(), lib/kstrtox.c
export function kstrtoul(text: string, base: KstrtoBase = 0): number {
  return Number(parse(text, false, 2n ** 64n - 1n, 0n, base));
}

// kernel: kstrtoint(), lib/kstrtox.c
export function kstrtoint(text: string, base: KstrtoBase = 0): number {
  return Number(parse(text, true, 2n ** 31n - 1n, -(2n ** 31n), base));
}

// kernel: kstrtoll(), lib/kstrtox.c
export function kstrtoll(text: string, base: KstrtoBase = 0): number {
  return Number(parse(text, true, 2n ** 63n - 1n, -(2n ** 63n), base));
}

function orEinval<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KernelError && err.code === 'ERANGE') throw kernelError('EINVAL', err.message);
    throw err;
  }
}

/** `kstrtoul(buf, 0, &val) < 0 → -EINVAL`, the pattern of the PCI stores. */
export function kstrtoulOrEinval(text: string, base: KstrtoBase = 0): number {
  return orEinval(() => kstrtoul(text, base));
}

/** `kstrtoll(buf, base, &val) → -EINVAL` on any failure. */
export function kstrtollOrEinval(text: string, base: KstrtoBase = 0): number {
  return orEinval(() => kstrtoll(text, base));
}

/** `kstrtoint(buf, 0, &val) < 0 → -EINVAL` (numa_node_store). */
export function kstrtointOrEinval(text: string): number {
  return orEinval(() => kstrtoint(text));
}

// kernel: kstrtobool(), lib/kstrtox.c
/** Only the first character counts (two for on/off): e/y/t/1 true, d/n/f/0 false. */
export function kstrtobool(text: string): boolean {
  const s = cString(text);
  const c = s[0]?.toLowerCase();
  if (c === 'e' || c === 'y' || c === 't' || c === '1') return true;
  if (c === 'd' || c === 'n' || c === 'f' || c === '0') return false;
  if (c === 'o') {
    const d = s[1]?.toLowerCase();
    if (d === 'n') return true;
    if (d === 'f') return false;
  }
  throw kernelError('EINVAL', `invalid boolean ${JSON.stringify(text)}`);
}

// kernel: sysfs_streq(), lib/string.c
/** The name sysfs_streq() compares a written buffer as: the C string less one trailing newline. */
export function sysfsName(text: string): string {
  const s = cString(text);
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

// kernel: kstrtou16(), lib/kstrtox.c: an unsigned number that must fit 16 bits (ERANGE above 65535)
export function kstrtou16(text: string): number {
  return Number(parse(text, false, 0xffffn, 0n, 0));
}
