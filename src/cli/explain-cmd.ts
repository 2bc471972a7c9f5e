// p2pemu explain CLIENT PROVIDER: why a pair may or may not do P2P DMA.

import { bootHostModel } from '../model/host-model.js';
import { parse, topologyOrExit } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { formatExplain } from './p2p-format.js';

export const EXPLAIN_USAGE = `usage: p2pemu explain CLIENT PROVIDER [--topology FILE]

Walks calc_map_type_and_dist() for one pair and prints each step: both upstream
paths with their ACS control bits, the nearest common bridge or the host-bridge
rule (whitelist entry, REQ_SAME_HOST_BRIDGE, AMD Zen CPU) that allowed or
refused it, the map type and distance, and the lines a real kernel would log.
CLIENT and PROVIDER are topology names (nvme0) or BDFs (0000:03:00.0, 03:00.0).`;

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { topology: { type: 'string' } }, EXPLAIN_USAGE);
  if (values.help) {
    console.log(EXPLAIN_USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new CliError(`explain needs CLIENT and PROVIDER\n${EXPLAIN_USAGE}`, EXIT_USAGE);
  const model = bootHostModel(topologyOrExit(values.topology));
  const [c, p] = positionals.map((id) => {
    const d = model.pci.find(id!);
    if (!d) throw new CliError(`no device "${id}" in the topology (use a name from p2pemu topo, or a BDF)`, EXIT_USAGE);
    return d;
  });
  process.stdout.write(formatExplain(model, c!, p!));
  return 0;
}
