// p2pemu scenario dmabuf-flow: O_DIRECT into p2pmem beside the thread's
// alternative (the NVMe exports its CMB as a dma-buf, the accelerator imports it).

import { parseSize } from '../config/index.js';
import type { TopologySpec } from '../config/index.js';
import { cmbDmabufFlow, oDirectIntoP2pmem, type FlowResult } from '../model/index.js';
import { formatBytes, formatNs } from '../model/index.js';
import { bootHostModel } from '../model/index.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

function flowLines(r: FlowResult): string[] {
  const out = [`${r.name}:`];
  for (const s of r.steps) out.push(s.refused ? `  ✗ ${s.what}: refused (${s.refused})` : `  - ${s.what}`);
  if (!r.ok) return [...out, '  → the transfer does not happen'];
  out.push(`  → ${formatBytes(r.p2pBytes)} over PCIe once: ${r.path}`);
  out.push(`  → struct pages for the buffer: ${r.structPages ? formatBytes(r.structPages) : 'none'}; GUP: ${r.gup ? 'yes (pins P2P pages)' : 'none (no user buffer)'}; rounds: ${r.rounds}`);
  if (r.linkNs !== undefined) out.push(`  → at the slower link's rate: ${formatNs(r.linkNs)} (computed from link speed × width × encoding; not measured)`);
  return out;
}

/** A switch with an NVMe (256 MiB CMB) and an accelerator under it: both flows can work here. */
export const FLOW_TOPOLOGY = `name: dmabuf-flow
host_bridges:
  - vendor: 0x8086
    device: 0x2020
    children:
      - kind: root_port
        slot: "01.0"
        link: { speed: 16, width: 16 }
        children:
          - kind: switch
            ports:
              - { slot: "00.0", link: { speed: 16, width: 4 }, children: [{ kind: nvme, name: nvme0, use_cmb_sqes: false, cmb: { size: 256MiB, bar: 2 } }] }
              - { slot: "01.0", link: { speed: 16, width: 16 }, children: [{ kind: accelerator, name: accel0 }] }
      - kind: root_port
        slot: "02.0"
        children: [{ kind: nvme, name: nvme1 }]
`;

export function dmabufFlowReport(spec: TopologySpec, bytesText: string | undefined): string {
  const bytes = bytesText === undefined ? 2 ** 30 : parseSize(bytesText);
  if (!bytes) throw new CliError('--bytes must be a size such as 256MiB or 1GiB', EXIT_USAGE);
  const m = bootHostModel(spec);
  const devs = m.pci.sorted();
  const accel = devs.find((d) => d.role === 'accelerator' && d.driver);
  const nvmes = devs.filter((d) => d.role === 'nvme' && d.driver);
  if (!accel || nvmes.length === 0) throw new CliError('dmabuf-flow needs a topology with an accelerator and an NVMe', EXIT_USAGE);
  const out = [`moving ${formatBytes(bytes)} from each NVMe namespace into ${accel.name} (${accel.bdf})`, ''];
  for (const nvme of nvmes) {
    out.push(`== ${nvme.name} (${nvme.bdf})`);
    out.push(...flowLines(oDirectIntoP2pmem(m, nvme, accel, bytes)));
    out.push(...flowLines(cmbDmabufFlow(m, nvme, accel, bytes)), '');
  }
  out.push('both flows cross PCIe once; the dma-buf flow needs no struct pages and no GUP but moves a CMB at a time,');
  out.push('and needs an exporter for the CMB that mainline NVMe does not have.');
  return out.join('\n') + '\n';
}
