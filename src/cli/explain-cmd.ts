// p2pemu explain CLIENT PROVIDER: why a pair may or may not do P2P DMA, on a
// topology or (--mount) on the live machine, where the map-type cache the
// DMA path uses is shown too.

import type { HostModel } from '../model/index.js';
import type { ControlRequest, LiveHost } from '../daemon/index.js';
import { modelOrExit, parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { askLive, LIVE_HELP, LIVE_OPTIONS, liveMount } from './live.js';
import { formatExplain, type LiveView } from './p2p-format.js';

export const EXPLAIN_USAGE = `usage: p2pemu explain CLIENT PROVIDER [--topology FILE | --mount MNT | --live]

Walks calc_map_type_and_dist() for one pair and prints each step: both upstream
paths with their ACS control bits, the nearest common bridge or the host-bridge
rule (whitelist entry, REQ_SAME_HOST_BRIDGE, AMD Zen CPU) that allowed or
refused it, the map type and distance, and the lines a real kernel would log.
CLIENT and PROVIDER are topology names (nvme0) or BDFs (0000:03:00.0, 03:00.0).
On a live mount it also shows the provider's map-type cache: what DMA between
the pair uses, marked when it was computed before the path changed (the kernel
never invalidates it).
${LIVE_HELP}`;

/** The explanation of one pair on a model (a topology's, or the live one). */
export function explainView(m: HostModel, client: string, provider: string, live?: LiveView): string {
  const [c, p] = [client, provider].map((id) => {
    const d = m.pci.find(id);
    if (d) return d;
    if (live) throw new CliError(`no device "${id}" on ${live.mountpoint} (removed, or never there; see p2pemu topo --mount ${live.mountpoint})`, EXIT_USAGE);
    throw new CliError(`no device "${id}" in the topology (use a name from p2pemu topo, or a BDF)`, EXIT_USAGE);
  });
  return formatExplain(m, c!, p!, live);
}

/** The daemon's side of `explain --mount`. */
export function explainLive(req: ControlRequest, live: LiveHost): string {
  return explainView(live.model, String(req.client), String(req.provider), { mountpoint: live.mountpoint });
}

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { topology: { type: 'string' }, ...LIVE_OPTIONS }, EXPLAIN_USAGE);
  if (values.help) {
    console.log(EXPLAIN_USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new CliError(`explain needs CLIENT and PROVIDER\n${EXPLAIN_USAGE}`, EXIT_USAGE);
  const [client, provider] = positionals as [string, string];
  const rec = liveMount(values);
  process.stdout.write(rec ? await askLive(rec, { command: 'explain', client, provider }) : explainView(modelOrExit(values.topology), client, provider));
  return 0;
}
