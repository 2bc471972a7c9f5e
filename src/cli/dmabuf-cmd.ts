// p2pemu dmabuf: attach decisions of every exporter/importer pair, a revoke on
// removal, and the page_pool binding rules.

import { KernelError } from '../errno.js';
import { DmaBufCore, defaultFallback } from '../model/index.js';
import { mirrorHostModel } from '../model/index.js';
import type { ControlRequest, LiveHost } from '../daemon/index.js';
import { hmmContext } from '../model/index.js';
import { bindRxQueue, pagePoolInit, rxFill } from '../model/index.js';
import { formatBytes } from '../model/index.js';
import type { HostModel } from '../model/index.js';
import type { PciDev } from '../model/index.js';
import { modelOrExit, parse } from './args.js';
import { askLive, LIVE_HELP, LIVE_OPTIONS, liveMount } from './live.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const DMABUF_USAGE = `usage: p2pemu dmabuf [--topology FILE | --mount MNT | --live]

For every device with P2P memory as exporter (accelerators fall back to system
memory for importers that cannot do P2P; NVMe CMBs and p2pmem cards export MMIO
only and refuse them) and every endpoint as importer: a static attachment, a
dynamic one without allow_peer2peer, and a dynamic one with it — peer2peer
decision, and the DMA address kind of the mapping (bus address, CPU physical,
IOVA, or system memory). Then removes the first exporter and shows move_notify
reaching every importer. Then devmem TCP page_pool bindings as net/core/devmem.c
makes them: a static import of each exporter's dma-buf (never peer2peer), device-
private memory (not a dma-buf: EINVAL), a page_pool of order 1 (E2BIG), and what
64 KiB exporter or host pages and the MTU do to the net_iovs.
On a live mount the report runs on a copy of the machine as it is now
(removals, unbinds, setpci), so nothing is exported, attached or cached on it.
${LIVE_HELP}`;

const exporterFallback = defaultFallback;

/** The report on a model (a topology's, or a copy of the live machine: it exports and attaches). */
export function dmabufReport(m: HostModel): string {
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
  out.push('', ...pagePoolLines(m, core, exporters, importers.find((d) => d.role === 'nic')));
  return out.join('\n') + '\n';
}

/** devmem TCP bindings as net/core/devmem.c makes them, and what page sizes do to them. */
function pagePoolLines(m: HostModel, core: DmaBufCore, exporters: PciDev[], nic: PciDev | undefined): string[] {
  if (!nic) return ['page_pool: the topology has no nic'];
  const out = ['page_pool (devmem TCP bind-rx: a dma-buf fd, imported with dma_buf_attach(), a static attachment, so never peer2peer):'];
  const one = (f: () => string) => {
    try {
      return f();
    } catch (err) {
      if (err instanceof KernelError) return `refused (${err.code}): ${err.message.slice(err.code.length + 2)}`;
      throw err;
    }
  };
  for (const e of exporters) {
    const buf = core.export(e, 4 * 2 ** 20, exporterFallback(e));
    out.push(`  ${nic.name} RX queue bound to ${e.name}'s dma-buf: ${one(() => {
      const b = bindRxQueue(nic, 0, { kind: 'dmabuf', buf }, core);
      return `${b.netIovs} net_iovs in ${b.target}${b.target === 'system-memory' ? ' (the exporter kept the buffer in system memory: no P2P)' : ''}`;
    })}`);
  }
  const priv = [...hmmContext(m, false).owners.values()][0];
  if (priv) out.push(`  ${nic.name} RX queue given ${priv.owner.name}'s device-private memory: ${one(() => bindRxQueue(nic, 1, { kind: 'other-fd', what: `the fd of ${priv.owner.name}'s device-private memory (hmm_dmirror)` }, core).source)}`);
  out.push(`  a page_pool of order 1 on a binding: ${one(() => (pagePoolInit(1), 'ok'))}`);
  const src = exporters.find((e) => exporterFallback(e) === 'system-memory') ?? exporters[0];
  if (!src) return out;
  out.push('', '  page sizes: a 4 MiB dma-buf whose exporter maps it in pages of E bytes, on a host of PAGE_SIZE P; frames of MTU bytes with 66 bytes of headers split off');
  out.push('  (net_iovs are PAGE_SIZE pieces of each sg entry; one frame per net_iov, no packing: assumed)');
  out.push('  host page  exporter page  net_iovs  unused   MTU 1500: net_iovs/frame, fill   MTU 9000: net_iovs/frame, fill');
  const buf = core.export(src, 4 * 2 ** 20, 'system-memory');
  for (const [page, exporterPage] of [[4096, 4096], [4096, 65536], [65536, 4096], [65536, 65536]] as const) {
    const b = bindRxQueue(nic, 2, { kind: 'dmabuf', buf, exporterPage }, core, page);
    const fill = (mtu: number) => (b.netIovs ? `${rxFill(b, mtu, 66).netIovsPerFrame}, ${Math.round(rxFill(b, mtu, 66).fill * 100)}%` : '-');
    out.push(`  ${formatBytes(page).padEnd(9)}  ${formatBytes(exporterPage).padEnd(13)}  ${String(b.netIovs).padEnd(8)}  ${formatBytes(b.unusedBytes).padEnd(7)}  ${fill(1500).padEnd(33)}  ${fill(9000)}`);
  }
  return out;
}

/** The daemon's side of `dmabuf --mount`: on a copy of the live machine. */
export async function dmabufLive(_req: ControlRequest, live: LiveHost): Promise<string> {
  return `live on ${live.mountpoint} (reported on a copy of the machine as it is now)\n\n${dmabufReport(await mirrorHostModel(live.model))}`;
}

export async function dmabufCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { topology: { type: 'string' }, ...LIVE_OPTIONS }, DMABUF_USAGE);
  if (values.help) {
    console.log(DMABUF_USAGE);
    return 0;
  }
  if (positionals.length) throw new CliError(`unexpected argument ${positionals[0]}\n${DMABUF_USAGE}`, EXIT_USAGE);
  const rec = liveMount(values);
  process.stdout.write(rec ? await askLive(rec, { command: 'dmabuf' }) : dmabufReport(modelOrExit(values.topology)));
  return 0;
}
