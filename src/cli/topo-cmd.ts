// p2pemu topo: print a topology without mounting it.

import { DEFAULT_TOPOLOGY_YAML } from '../config/default-topology.js';
import { loadTopology } from '../config/parse-topology.js';
import { TopologyError } from '../config/topology-error.js';
import { enumerate } from '../model/pci/index.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { formatDot, formatJson, formatTree } from './topo-format.js';

export const TOPO_USAGE = `usage: p2pemu topo [--topology FILE] [--format tree|dot|json] [--dump-default]

Prints the PCI tree of a topology (default: the embedded one) with bus
numbers, ACS control bits, large BARs, CMBs and drivers.
  --format dot     a Graphviz picture (p2pemu topo --format dot | dot -Tpng > t.png)
  --format json    machine-readable, with assigned BDFs and addresses
  --dump-default   print the embedded default topology YAML, to start your own`;

export async function topoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { topology: { type: 'string' }, format: { type: 'string' }, 'dump-default': { type: 'boolean' } },
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
  let host;
  try {
    host = enumerate(loadTopology(values.topology));
  } catch (err) {
    if (err instanceof TopologyError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
  process.stdout.write(format === 'dot' ? formatDot(host) : format === 'json' ? formatJson(host) : formatTree(host));
  return 0;
}
