// The allocation-sequence language of `p2pemu scenario sequence`: one step per
// line (or per `;` inline), comments after `#`.
//
//   memory 4MiB               P2P memory of the provider (default 4MiB)
//   align 2MiB                folio size of device-align / largest of best-effort (default 2MiB)
//   app1: mmap a 4KiB         process app1 maps 4 KiB of allocate; the mapping is called a
//   app2: mmap b 2MiB unaligned   … at an address 4 KiB past a folio boundary
//   app2: mmap c 2MiB at 0x7f0000200000   … at that address
//   app1: munmap a            the mapping goes, its pages return to the pool

import { parseSize } from '../config/index.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from '../model/index.js';

export type Placement = 'aligned' | 'unaligned' | { at: number };

export type Step =
  | { op: 'mmap'; proc: string; name: string; size: number; place: Placement; where: string; text: string }
  | { op: 'munmap'; proc: string; name: string; where: string; text: string };

export interface Sequence {
  memory: number;
  align: number;
  steps: Step[];
}

export class SequenceError extends Error {}

const MAX_MEMORY = 2 ** 40;
const PROC = /^[A-Za-z_][\w-]{0,31}$/;

function size(text: string | undefined, what: string, where: string): number {
  const n = text === undefined ? undefined : parseSize(text);
  if (n === undefined || n <= 0) throw new SequenceError(`${where}: ${what} must be a size such as 4KiB, 2MiB or 1GiB, not "${text ?? ''}"`);
  return n;
}

/**
 * Parses a sequence. `source` names where the text came from ("steps.txt" or
 * "-e"); errors read `SOURCE:N: problem`, N the line (or the inline step).
 */
export function parseSequence(text: string, source: string, inline = false): Sequence {
  const seq: Sequence = { memory: 4 * 2 ** 20, align: PMD_SIZE, steps: [] };
  const live = new Map<string, string>(); // mapping name → process
  const units = inline ? text.split(';') : text.split('\n');
  units.forEach((raw, i) => {
    const where = `${source}:${i + 1}`;
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const words = line.split(/\s+/);
    if (words[0] === 'memory' || words[0] === 'align') {
      if (words.length !== 2) throw new SequenceError(`${where}: "${words[0]}" takes one size`);
      if (seq.steps.length) throw new SequenceError(`${where}: "${words[0]}" must come before the first mmap`);
      const n = size(words[1], words[0], where);
      if (words[0] === 'memory') {
        if (n > MAX_MEMORY || n % PAGE_SIZE) throw new SequenceError(`${where}: memory must be whole 4 KiB pages, at most 1 TiB`);
        seq.memory = n;
      } else {
        if (n !== PMD_SIZE && n !== PUD_SIZE) throw new SequenceError(`${where}: align must be 2MiB or 1GiB`);
        seq.align = n;
      }
      return;
    }
    const m = /^([^:\s]+):\s*(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new SequenceError(`${where}: expected "PROC: mmap NAME SIZE [aligned|unaligned|at ADDR]" or "PROC: munmap NAME", got "${line}"`);
    const [, proc, op, rest] = m as unknown as [string, string, string, string];
    if (!PROC.test(proc)) throw new SequenceError(`${where}: "${proc}" is not a process name (letters, digits, _ and -)`);
    const args = rest.split(/\s+/);
    if (op === 'munmap') {
      if (args.length !== 1) throw new SequenceError(`${where}: munmap takes one mapping name`);
      const owner = live.get(args[0]!);
      if (!owner) throw new SequenceError(`${where}: no mapping "${args[0]}" is mapped at this point`);
      if (owner !== proc) throw new SequenceError(`${where}: mapping "${args[0]}" belongs to ${owner}, not ${proc}`);
      live.delete(args[0]!);
      seq.steps.push({ op: 'munmap', proc, name: args[0]!, where, text: line });
      return;
    }
    if (op !== 'mmap') throw new SequenceError(`${where}: unknown operation "${op}" (mmap or munmap)`);
    const [name, sizeText, placeWord, addr] = args;
    if (!name || !sizeText) throw new SequenceError(`${where}: mmap needs a mapping name and a size`);
    if (live.has(name)) throw new SequenceError(`${where}: mapping "${name}" is already mapped`);
    const bytes = size(sizeText, 'the mapping size', where);
    if (bytes % PAGE_SIZE) throw new SequenceError(`${where}: the mapping size must be whole 4 KiB pages`);
    let place: Placement = 'aligned';
    if (placeWord === 'unaligned') place = 'unaligned';
    else if (placeWord === 'at') {
      const at = Number(addr);
      if (!addr || !Number.isSafeInteger(at) || at <= 0 || at % PAGE_SIZE) throw new SequenceError(`${where}: "at" needs a page-aligned address such as 0x7f0000200000`);
      place = { at };
    } else if (placeWord !== undefined && placeWord !== 'aligned') throw new SequenceError(`${where}: placement is aligned, unaligned or "at ADDR", not "${placeWord}"`);
    if (args.length > (placeWord === 'at' ? 4 : placeWord ? 3 : 2)) throw new SequenceError(`${where}: unexpected "${args.slice(placeWord === 'at' ? 4 : 3).join(' ')}"`);
    live.set(name, proc);
    seq.steps.push({ op: 'mmap', proc, name, size: bytes, place, where, text: line });
  });
  if (seq.steps.length === 0) throw new SequenceError(`${source}: no mmap or munmap steps`);
  return seq;
}
