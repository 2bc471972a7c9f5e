// The text of `lspci -x`, `-xxx` or `-xxxx` (with or without -D, with or
// without -v/-vv/-vvv lines between), read as pciutils' dump method reads it
// (lib/dump.c dump_init): a line "[DDDD:]BB:DD.F " opens a function, hex lines
// "OFF: xx xx …" fill its bytes (unlisted bytes read 0xff, the length is the
// highest byte given), an empty line closes it. The -v text is kept for what
// it alone knows: BAR sizes, the kernel driver, NUMA node, IOMMU group, slot.

export interface DumpFunction {
  domain: number;
  bus: number;
  dev: number;
  fn: number;
  /** the slot line after the address, e.g. "Host bridge: Intel Corporation …" */
  description: string;
  /** 1-based line of the slot line */
  line: number;
  /** config bytes: as many as the dump gives, unlisted ones 0xff */
  config: Buffer;
  /** from -v text: "Region N: … [size=X]" and the ROM's size */
  regionSizes: Map<number, number>;
  romSize: number | undefined;
  driver: string | undefined;
  numaNode: number | undefined;
  iommuGroup: number | undefined;
  physicalSlot: string | undefined;
}

export class DumpError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** "512K", "16M", "4G" as lspci's show_size() prints them. */
function sizeOf(n: string, unit: string): number {
  return Number(n) * 1024 ** ' KMGT'.indexOf(unit || ' ');
}

const SLOT = /^(?:([0-9a-f]{4,6}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) (.*)$/i;
const HEX_LINE = /^([0-9a-f]{2,8}): (.*)$/i;
const MAX_CONFIG = 4096;

/** Text lines of lspci -v that carry facts the bytes do not. */
function readVerbose(f: DumpFunction, text: string): void {
  let m: RegExpExecArray | null;
  if ((m = /^\s*Region (\d): .*\[size=(\d+)([KMGT]?)\]/.exec(text))) f.regionSizes.set(Number(m[1]), sizeOf(m[2]!, m[3]!));
  else if ((m = /^\s*Expansion ROM at .*\[size=(\d+)([KMGT]?)\]/.exec(text))) f.romSize = sizeOf(m[1]!, m[2]!);
  else if ((m = /^\s*Kernel driver in use: (\S+)/.exec(text))) f.driver = m[1];
  else if ((m = /^\s*NUMA node: (-?\d+)/.exec(text))) f.numaNode = Number(m[1]);
  else if ((m = /^\s*IOMMU group: (\d+)/.exec(text))) f.iommuGroup = Number(m[1]);
  else if ((m = /^\s*Physical Slot: (\S+)/.exec(text))) f.physicalSlot = m[1];
}

// kernel: (pciutils) dump_init(), lib/dump.c: the same line rules; a malformed hex line is an error
export function parseLspciDump(text: string): DumpFunction[] {
  const out: DumpFunction[] = [];
  let cur: { f: DumpFunction; bytes: Buffer; len: number } | undefined;
  const close = () => {
    if (cur) cur.f.config = Buffer.from(cur.bytes.subarray(0, cur.len));
    cur = undefined;
  };
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    const slot = SLOT.exec(line);
    if (slot) {
      close();
      const f: DumpFunction = {
        domain: slot[1] ? Number.parseInt(slot[1], 16) : 0,
        bus: Number.parseInt(slot[2]!, 16),
        dev: Number.parseInt(slot[3]!, 16),
        fn: Number(slot[4]),
        description: slot[5]!,
        line: i + 1,
        config: Buffer.alloc(0),
        regionSizes: new Map(),
        romSize: undefined,
        driver: undefined,
        numaNode: undefined,
        iommuGroup: undefined,
        physicalSlot: undefined,
      };
      out.push(f);
      cur = { f, bytes: Buffer.alloc(MAX_CONFIG, 0xff), len: 0 };
      continue;
    }
    if (line === '') {
      close();
      continue;
    }
    if (!cur) continue;
    const hex = HEX_LINE.exec(line);
    if (!hex) {
      readVerbose(cur.f, line);
      continue;
    }
    let off = Number.parseInt(hex[1]!, 16);
    const bytes = hex[2]!.replace(/ $/, '').split(' ');
    for (const b of bytes) {
      if (!/^[0-9a-f]{2}$/i.test(b)) throw new DumpError(i + 1, `malformed hex line (lspci's dump reader stops here too): ${JSON.stringify(line.slice(0, 60))}`);
      if (off >= MAX_CONFIG) throw new DumpError(i + 1, 'at most 4096 bytes of config space per function');
      cur.bytes[off++] = Number.parseInt(b, 16);
      cur.len = Math.max(cur.len, off);
    }
  }
  close();
  const empty = out.find((f) => f.config.length === 0);
  if (empty) throw new DumpError(empty.line, 'this function has no hex lines: the dump must come from lspci -x, -xxx or -xxxx');
  return out;
}
