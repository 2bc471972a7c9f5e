// p2pemu topo: print a topology without mounting it, or (--mount) the machine
// a live mount runs: removed functions gone, ACS bits as setpci left them.

import { DEFAULT_TOPOLOGY_YAML } from '../config/index.js';
import type { ControlRequest, LiveHost } from '../daemon/index.js';
import type { HostModel } from '../model/index.js';
import { formatMatrix, type LiveView } from './p2p-format.js';
import { modelOrExit, parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { askLive, LIVE_HELP, LIVE_OPTIONS, liveMount } from './live.js';
import { formatDot, formatJson, formatTree } from './topo-format.js';

export const TOPO_USAGE = `usage: p2pemu topo [--topology FILE | --mount MNT | --live] [--format tree|dot|json] [--matrix [--providers LIST]] [--dump-default]

Prints the PCI tree of a topology (default: the embedded one) with bus
numbers, ACS control bits, large BARs, CMBs and drivers.
  --format dot     a Graphviz picture (p2pemu topo --format dot | dot -Tpng > t.png)
  --format json    machine-readable, with assigned BDFs and addresses
  --matrix         map type and distance of every provider/client pair
                   (like nvidia-smi topo -m); p2pemu explain shows why.
                   Providers: the functions that register P2P memory, or,
                   when none does (a recorded or imported machine), every
                   function with a memory BAR. On a live mount: the map type
                   DMA uses, from the provider's cache where it holds the pair
                   (* marks one computed before its path changed)
  --providers LIST the provider columns: names or BDFs, comma-separated
  --dump-default   print the embedded default topology YAML, to start your own
${LIVE_HELP}`;

type TopoFormat = 'tree' | 'dot' | 'json';

/** The tree, picture, JSON or matrix of a model (a topology's, or the live one). */
export function topoView(m: HostModel, format: TopoFormat, matrix: boolean, providerIds: string[] | undefined, live?: LiveView): string {
  if (matrix) {
    const providers = providerIds?.map((id) => {
      const d = m.pci.find(id.trim());
      if (!d) throw new CliError(`no function ${id.trim()} ${live ? `on ${live.mountpoint}` : 'in the topology'}`, EXIT_USAGE);
      return d;
    });
    return formatMatrix(m, providers, live);
  }
  return format === 'dot' ? formatDot(m.pci) : format === 'json' ? formatJson(m.pci) : formatTree(m.pci);
}

/** The daemon's side of `topo --mount`. */
export function topoLive(req: ControlRequest, live: LiveHost): string {
  const providers = Array.isArray(req.providers) ? req.providers.map(String) : undefined;
  return topoView(live.model, req.format as TopoFormat, req.matrix === true, providers, { mountpoint: live.mountpoint });
}

export async function topoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { topology: { type: 'string' }, format: { type: 'string' }, matrix: { type: 'boolean' }, providers: { type: 'string' }, 'dump-default': { type: 'boolean' }, ...LIVE_OPTIONS },
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
  if (values.providers !== undefined && !values.matrix) throw new CliError(`--providers goes with --matrix\n${TOPO_USAGE}`, EXIT_USAGE);
  const matrix = values.matrix === true;
  const providers = values.providers?.split(',');
  const rec = liveMount(values);
  process.stdout.write(rec ? await askLive(rec, { command: 'topo', format, matrix, providers }) : topoView(modelOrExit(values.topology), format as TopoFormat, matrix, providers));
  return 0;
}
