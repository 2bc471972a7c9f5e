// Parsing of attribute writes the way kstrtoul()/kstrtoint() do (lib/kstrtox.c):
// one trailing newline allowed, base 0 picks 0x hex / 0 octal / decimal, a
// leading '+' (and '-' for signed) accepted, anything else EINVAL, too big ERANGE.

import { kernelError } from '../../errno.js';

function parse(text: string, signed: boolean, max: bigint, min: bigint): bigint {
  let s = text.endsWith('\n') ? text.slice(0, -1) : text;
  let neg = false;
  if (s.startsWith('+')) s = s.slice(1);
  else if (signed && s.startsWith('-')) {
    neg = true;
    s = s.slice(1);
  }
  let digits: RegExp;
  let prefix = '';
  if (/^0x/i.test(s)) {
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
  if (v > max || v < min) throw kernelError('ERANGE', `${text.trim()} is out of range`);
  return v;
}

export function kstrtoul(text: string): number {
  return Number(parse(text, false, 2n ** 64n - 1n, 0n));
}

export function kstrtoint(text: string): number {
  return Number(parse(text, true, 2n ** 31n - 1n, -(2n ** 31n)));
}

// kernel: kstrtobool(), lib/kstrtox.c
export function kstrtobool(text: string): boolean {
  const c = text[0]?.toLowerCase();
  if (c === 'y' || c === '1' || c === 't') return true;
  if (c === 'n' || c === '0' || c === 'f') return false;
  if (c === 'o') {
    const d = text[1]?.toLowerCase();
    if (d === 'n') return true;
    if (d === 'f') return false;
  }
  throw kernelError('EINVAL', `invalid boolean ${JSON.stringify(text)}`);
}
