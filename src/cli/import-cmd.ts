// p2pemu import DUMP: an lspci -xxx/-xxxx dump as a topology.

import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CPU_VENDORS } from '../config/index.js';
import { formatSize } from '../config/index.js';
import { writeTopology } from '../config/index.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { checkLoads } from './replay/check-loads.js';
import { DEFAULT_IO_BAR_SIZE, DEFAULT_MEM_BAR_SIZE, dumpToTopology } from './replay/dump-to-topology.js';
import { DumpError, parseLspciDump } from './replay/lspci-dump.js';

export const IMPORT_USAGE = `usage: p2pemu import DUMP [--cpu VENDOR:FAMILY] [--out FILE]

Turns the text of lspci -x, -xxx or -xxxx (with or without -D and -v lines,
as people paste it into bug reports; "-" reads standard input; gzip
compressed is fine) into a
topology: the tree from the bridges' bus numbers, VFs under their PF,
everything else from the config bytes. A dump does not say which CPU the
machine had, its NUMA layout or how large its BARs are: the CPU comes from
--cpu (default GenuineIntel:6), NUMA is one node with CPUs 0-7, and a BAR
whose size no "[size=…]" line gives is ${formatSize(DEFAULT_MEM_BAR_SIZE)} (I/O: ${DEFAULT_IO_BAR_SIZE} bytes) or less when its
address is aligned less; one warning line says which of these were assumed.
-v text adds what it knows: BAR sizes, kernel driver, NUMA node, IOMMU group.
  --cpu VENDOR:FAMILY   e.g. AuthenticAMD:0x19 (AMD Zen allows P2P through any host bridge)
  --out FILE            write the topology there (default: standard output)`;

function parseCpu(text: string | undefined): { vendor: string; family: number; model: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^([^:]+):(0x[0-9a-f]+|\d+)$/i.exec(text);
  if (!m || !(CPU_VENDORS as readonly string[]).includes(m[1]!)) {
    throw new CliError(`--cpu takes VENDOR:FAMILY with VENDOR one of ${CPU_VENDORS.map((v) => JSON.stringify(v)).join(', ')} (e.g. AuthenticAMD:0x19), not ${JSON.stringify(text)}`, EXIT_USAGE);
  }
  return { vendor: m[1]!, family: Number(m[2]), model: 0 };
}

export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { cpu: { type: 'string' }, out: { type: 'string' } }, IMPORT_USAGE);
  if (values.help) {
    console.log(IMPORT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`import needs one DUMP file\n${IMPORT_USAGE}`, EXIT_USAGE);
  const file = positionals[0]!;
  const cpu = parseCpu(values.cpu);
  let text: string;
  try {
    const bytes = readFileSync(file === '-' ? 0 : file);
    // gzip magic 1f 8b: hardware-probe archives and our own test data keep dumps compressed
    text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, EXIT_USAGE);
  }
  let functions;
  try {
    functions = parseLspciDump(text);
  } catch (err) {
    if (err instanceof DumpError) throw new CliError(`${file}:${err.line}: ${err.message.replace(/^line \d+: /, '')}`, EXIT_USAGE);
    throw err;
  }
  if (functions.length === 0) throw new CliError(`${file}: no PCI function in it (expected the output of lspci -xxx or -xxxx)`, EXIT_USAGE);
  const { hostBridges, assumedSizes } = dumpToTopology(functions);
  const assumed = [
    cpu ? undefined : 'the CPU (GenuineIntel family 0x6; give --cpu VENDOR:FAMILY)',
    'the NUMA layout (one node, CPUs 0-7)',
    assumedSizes ? `${assumedSizes} BAR sizes (no [size=…] in the dump)` : undefined,
  ].filter(Boolean);
  console.error(`p2pemu: warning: a dump does not say: ${assumed.join('; ')}`);
  const yaml = writeTopology({
    name: basename(file === '-' ? 'stdin' : file),
    header: [
      `imported by p2pemu import from ${file === '-' ? 'standard input' : basename(file)}: ${functions.length} functions`,
      `assumed: ${assumed.join('; ')}`,
      'config: the dump\'s bytes (lines not listed are zeros; bytes the dump left out read ff)',
    ],
    cpu: cpu ?? { vendor: 'GenuineIntel', family: 6, model: 0 },
    iommu: functions.some((f) => f.iommuGroup !== undefined),
    numa: [{ node: 0, cpus: '0-7' }],
    hostBridges,
  });
  if (values.out) writeFileSync(values.out, yaml);
  else process.stdout.write(yaml);
  return checkLoads(values.out ?? file, yaml);
}
