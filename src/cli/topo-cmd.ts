// p2pemu topo: print a topology without mounting it.

import { DEFAULT_TOPOLOGY_YAML } from '../config/default-topology.js';
import { formatMatrix } from './p2p-format.js';
import { modelOrExit, parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { formatDot, formatJson, formatTree } from './topo-format.js';

export const TOPO_USAGE = `usage: p2pemu topo [--topology FILE] [--format tree|dot|json] [--matrix [--providers LIST]] [--dump-default]

Prints the PCI tree of a topology (default: the embedded one) with bus
numbers, ACS control bits, large BARs, CMBs and drivers.
  --format dot     a Graphviz picture (p2pemu topo --format dot | dot -Tpng > t.png)
  --format json    machine-readable, with assigned BDFs and addresses
  --matrix         map type and distance of every provider/client pair
                   (like nvidia-smi topo -m); p2pemu explain shows why.
                   Providers: the functions that register P2P memory, or,
                   when none does (a recorded or imported machine), every
                   function with a memory BAR
  --providers LIST the provider columns: names or BDFs, comma-separated
  --dump-default   print the embedded default topology YAML, to start your own`;

export async function topoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { topology: { type: 'string' }, format: { type: 'string' }, matrix: { type: 'boolean' }, providers: { type: 'string' }, 'dump-default': { type: 'boolean' } },
    TOPO_USAGE,
  );
  if (values.help) {
    console.log(TOPO_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${positionals[0]}\n${TOPO_USAGE}`, EXIT_USAGE);
  if (values['dump-default']) {
    process.stdout.write(DEFAULT_TOPOLOGY_YAML);
    return 0;
  }
  const format = values.format ?? 'tree';
  if (!['tree', 'dot', 'json'].includes(format)) throw new CliError(`--format must be tree, dot or json, not ${format}`, EXIT_USAGE);
  const model = modelOrExit(values.topology);
  if (values.providers !== undefined && !values.matrix) throw new CliError(`--providers goes with --matrix\n${TOPO_USAGE}`, EXIT_USAGE);
  if (values.matrix) {
    const providers = values.providers?.split(',').map((id) => {
      const d = model.pci.find(id.trim());
      if (!d) throw new CliError(`no function ${id.trim()} in the topology`, EXIT_USAGE);
      return d;
    });
    process.stdout.write(formatMatrix(model, providers));
    return 0;
  }
  const host = model.pci;
  process.stdout.write(format === 'dot' ? formatDot(host) : format === 'json' ? formatJson(host) : formatTree(host));
  return 0;
}
