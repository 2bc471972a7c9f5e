// p2pemu record: this machine's PCI hierarchy as a topology file.

import { writeFileSync } from 'node:fs';
import { CPU_VENDORS } from '../config/index.js';
import { writeTopology, type ReplayHost } from '../config/index.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { readHostFacts } from './replay/read-host.js';
import { readSysfsPci } from './replay/read-sysfs.js';
import { checkLoads } from './replay/check-loads.js';

export const RECORD_USAGE = `usage: p2pemu record [--out FILE] [--sysfs DIR] [--partial]

Records this machine for replay: reads /sys/bus/pci and writes a topology
with every function's config space (all 4096 bytes of a PCI Express
function), resource lines (BAR addresses and sizes), IRQ and MSI vectors,
NUMA node, driver, IOMMU group, physical slot, SR-IOV state with each VF,
and P2P memory; the tree from the sysfs device paths; the CPU vendor,
family and model and the NUMA nodes. It only reads: config space is never
written (BAR sizes come from the resource files, not from sizing the BARs).
Then: p2pemu topo --matrix --topology FILE, p2pemu explain A B --topology FILE,
p2pemu mount MNT --topology FILE.
  --out FILE   write the topology there (default: standard output)
  --sysfs DIR  read another sysfs tree, e.g. a p2pemu mount's MNT/sys (default /sys)
  --partial    record without root: a non-root reader gets only the first 64
               bytes of config space (no capabilities: no PCI Express, ACS or
               SR-IOV), so without this option a non-root run stops`;

export async function recordCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, sysfs: { type: 'string' }, partial: { type: 'boolean' } }, RECORD_USAGE);
  if (values.help) {
    console.log(RECORD_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${positionals[0]}\n${RECORD_USAGE}`, EXIT_USAGE);
  const sys = values.sysfs ?? '/sys';
  let pci;
  try {
    pci = readSysfsPci(sys);
  } catch (err) {
    throw new CliError(`cannot read ${sys}/bus/pci: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
  }
  if (pci.shortConfig > 0 && !values.partial) {
    throw new CliError(
      `reading config space needs root: ${pci.shortConfig} of ${pci.functions} functions gave only their first 64 bytes (no capabilities, ACS or SR-IOV). Run p2pemu record as root, or pass --partial to record what a non-root reader sees`,
      EXIT_USAGE,
    );
  }
  const facts = readHostFacts(sys);
  if (!(CPU_VENDORS as readonly string[]).includes(facts.cpu.vendor)) {
    console.error(`p2pemu: warning: CPU vendor "${facts.cpu.vendor}" is not one the P2PDMA rules know; recorded as GenuineIntel (edit cpu: to change)`);
    facts.cpu.vendor = 'GenuineIntel';
  }
  const host: ReplayHost = {
    name: facts.name,
    header: [
      `recorded by p2pemu record on ${facts.name} (kernel ${facts.kernel}) at ${new Date().toISOString()}`,
      `from ${sys}${pci.shortConfig ? ` without root: config space is the first 64 bytes of ${pci.shortConfig} functions` : ''}`,
      'config: the bytes of config space (lines not listed are zeros); resource: the sysfs resource lines',
    ],
    cpu: facts.cpu,
    iommu: facts.iommu,
    numa: facts.numa,
    hostBridges: pci.hostBridges,
  };
  const yaml = writeTopology(host);
  if (values.out) writeFileSync(values.out, yaml);
  else process.stdout.write(yaml);
  if (pci.shortConfig) console.error(`p2pemu: warning: not root: config space of ${pci.shortConfig} functions is cut to 64 bytes; run as root for a full recording`);
  return checkLoads(values.out ?? '<recording>', yaml);
}
