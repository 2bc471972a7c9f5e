// p2pemu dmabuf: attach decisions of every exporter/importer pair, a revoke on
// removal, and the page_pool binding rules.

import { KernelError } from '../errno.js';
import { DmaBufCore, defaultFallback } from '../model/dmabuf/dmabuf.js';
import { bootHostModel } from '../model/host-model.js';
import { hmmContext } from '../model/hmm/hmm-host.js';
import { bindRxQueue } from '../model/net/page-pool.js';
import { parse, topologyOrExit } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const DMABUF_USAGE = `usage: p2pemu dmabuf [--topology FILE]

For every device with P2P memory as exporter (accelerators fall back to system
memory for importers that cannot do P2P; NVMe CMBs and p2pmem cards export MMIO
only and refuse them) and every endpoint as importer: a static attachment, a
dynamic one without allow_peer2peer, and a dynamic one with it — peer2peer
decision, and the DMA address kind of the mapping (bus address, CPU physical,
IOVA, or system memory). Then removes the first exporter and shows move_notify
reaching every importer, and binds a NIC RX queue to a dma-buf and to
device-private memory.`;

const exporterFallback = defaultFallback;

export function dmabufReport(file: string | undefined): string {
  const m = bootHostModel(topologyOrExit(file));
  const core = new DmaBufCore(m.p2pdma, m.klog, m.pci.spec.iommu);
  const exporters = m.p2pdma.allProviders().map((p) => p.dev);
  const importers = m.pci.sorted().filter((d) => !d.isBridge && d.role !== 'host_bridge');
  const out = ['exporter → importer: static | dynamic, no peer2peer | dynamic, allow_peer2peer'];
  const one = (f: () => string) => {
    try {
      return f();
    } catch (err) {
      if (err instanceof KernelError) return `refused (${err.code})`;
      throw err;
    }
  };
  for (const e of exporters) {
    const buf = core.export(e, 2 * 2 ** 20, exporterFallback(e));
    for (const i of importers) {
      if (i === e) continue;
      const cells = [undefined, { allowPeer2peer: false, moveNotify: () => undefined }, { allowPeer2peer: true, moveNotify: () => undefined }].map((ops) =>
        one(() => {
          const att = core.attach(buf, i, ops);
          return core.map(att)[0]!.target;
        }),
      );
      out.push(`${e.name.padEnd(8)} → ${i.name.padEnd(8)} ${cells.map((c) => c.padEnd(18)).join(' | ')}`);
    }
  }
  const victim = exporters.find((e) => exporterFallback(e) === 'system-memory') ?? exporters[0];
  if (victim) {
    const told: string[] = [];
    const buf = core.export(victim, 2 ** 20, exporterFallback(victim));
    for (const i of importers.filter((x) => x !== victim).slice(0, 3)) {
      one(() => {
        core.attach(buf, i, { allowPeer2peer: true, moveNotify: (a) => told.push(a.importer.name) });
        return '';
      });
    }
    const revoked = core.revokeExporter(victim);
    out.push('', `removing ${victim.name}: move_notify reached ${told.length ? told.join(', ') : 'no dynamic importer'}; ${revoked.length} attachment(s) lost their mapping before remove() returned`);
  }
  const nic = importers.find((d) => d.role === 'nic');
  // a dma-buf the NIC can reach (the revoked exporter's driver is still bound and may export again)
  const exporter = nic ? (exporters.find((e) => m.p2pdma.distanceMany(e, [nic], false) >= 0) ?? exporters[0]) : undefined;
  if (nic && exporter) {
    const buf = core.export(exporter, 4 * 2 ** 20, exporterFallback(exporter));
    out.push('', `page_pool: ${nic.name} RX queue 0 bound to ${exporter.name}'s dma-buf: ${one(() => bindRxQueue(nic, 0, { kind: 'dmabuf', buf }, core).source)}`);
    const ctx = hmmContext(m, false);
    const priv = [...ctx.owners.values()][0];
    if (priv) out.push(`page_pool: ${nic.name} RX queue 1 bound to ${priv.owner.name}'s device-private memory: ${one(() => bindRxQueue(nic, 1, { kind: 'pgmap', pgmap: priv.pgmap }, core).source)}`);
  }
  return out.join('\n') + '\n';
}

export async function dmabufCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { topology: { type: 'string' } }, DMABUF_USAGE);
  if (values.help) {
    console.log(DMABUF_USAGE);
    return 0;
  }
  if (positionals.length) throw new CliError(`unexpected argument ${positionals[0]}\n${DMABUF_USAGE}`, EXIT_USAGE);
  process.stdout.write(dmabufReport(values.topology));
  return 0;
}
