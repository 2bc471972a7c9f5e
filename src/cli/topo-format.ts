// The topology as text (like lspci -tv, with the P2P-relevant facts on each
// line), as a Graphviz picture, or as JSON.

import { formatSize } from '../config/index.js';
import { ACS_BITS } from '../config/index.js';
import { pcieType, PCI_EXP_TYPE_RC_END, type PciDev, type PciHost } from '../model/index.js';

function role(dev: PciDev): string {
  switch (dev.role) {
    case 'host_bridge':
      return 'Host bridge';
    case 'root_port':
      return 'Root Port';
    case 'switch_upstream':
      return 'Switch Upstream Port';
    case 'switch_downstream':
      return 'Switch Downstream Port';
    case 'pci_bridge':
      return 'PCI bridge';
    default:
      if (dev.isVirtfn) return `VF ${dev.vfIndex} of ${dev.physfn!.name}`;
      if (!dev.isPcie) return `${dev.role} (conventional PCI)`;
      return pcieType(dev.config) === PCI_EXP_TYPE_RC_END ? `${dev.role} (RCiEP)` : dev.role;
  }
}

export function acsText(ctrl: number | undefined): string {
  if (ctrl === undefined) return '';
  const bits = Object.entries(ACS_BITS).filter(([, v]) => ctrl & v).map(([k]) => k);
  return `ACS ${bits.length ? bits.join(' ') : '-'}`;
}

const h = (n: number, w: number) => n.toString(16).padStart(w, '0');

function details(dev: PciDev): string {
  const parts = [`[${h(dev.ids.vendor, 4)}:${h(dev.ids.device, 4)}]`, role(dev)];
  if (dev.busRange) parts.push(`[bus ${h(dev.busRange[0], 2)}-${h(dev.busRange[1], 2)}]`);
  const acs = acsText(dev.acsCtrl);
  if (acs) parts.push(acs);
  const big = dev.bars.filter((b) => b.size >= 2 ** 20).map((b) => `BAR${b.index} ${formatSize(b.size)}`);
  if (big.length) parts.push(big.join(', '));
  const ep = dev.endpoint;
  if (ep?.cmb) parts.push(`CMB ${formatSize(ep.cmb.size)} in BAR${ep.cmb.bar} (${ep.cmb.flags.join(' ')})`);
  if (ep?.p2pmem) parts.push(`p2pmem BAR${ep.p2pmem.bar}`);
  if (dev.driver && dev.role !== 'root_port' && !dev.role.startsWith('switch')) parts.push(`driver ${dev.driver}`);
  return parts.join('  ');
}

export function formatTree(host: PciHost): string {
  const s = host.spec;
  const lines = [`${s.name}: cpu ${s.cpu.vendor} family 0x${s.cpu.family.toString(16)}, iommu ${s.iommu ? 'on' : 'off'}`];
  const walk = (devs: PciDev[], prefix: string) => {
    devs.forEach((dev, i) => {
      const last = i === devs.length - 1;
      lines.push(`${prefix}${last ? '└─' : '├─'} ${dev.bdf} ${dev.name}  ${details(dev)}`);
      walk(dev.children, prefix + (last ? '   ' : '│  '));
    });
  };
  for (const hb of host.hostBridges) {
    lines.push(`[${hb.dirName.slice(3)}] ${hb.name}  host bridge ${h(hb.vendor, 4)}:${h(hb.device, 4)}  NUMA node ${hb.numaNode}`);
    walk(hb.rootBusDevices, ' ');
  }
  return lines.join('\n') + '\n';
}

export function formatDot(host: PciHost): string {
  const id = (d: PciDev) => `"${d.bdf}"`;
  const out = ['digraph p2pemu {', '  rankdir=TB;', '  node [shape=box, fontname="monospace"];'];
  for (const hb of host.hostBridges) {
    out.push(`  subgraph "cluster_${hb.name}" {`, `    label="${hb.name} ${h(hb.vendor, 4)}:${h(hb.device, 4)} (NUMA ${hb.numaNode})";`);
    for (const d of host.devices.filter((x) => x.hostBridge === hb)) {
      const shape = d.isBridge ? ', style=rounded' : d.role === 'host_bridge' ? ', shape=house' : '';
      const acs = acsText(d.acsCtrl);
      out.push(`    ${id(d)} [label="${d.name}\\n${d.bdf}\\n${role(d)}${acs ? `\\n${acs}` : ''}"${shape}];`);
    }
    out.push('  }');
    for (const d of host.devices.filter((x) => x.hostBridge === hb)) {
      const parent = d.upstream ?? (d.role === 'host_bridge' ? undefined : hb.rootBusDevices.find((x) => x.role === 'host_bridge'));
      if (parent) out.push(`  ${id(parent)} -> ${id(d)};`);
    }
  }
  out.push('}');
  return out.join('\n') + '\n';
}

export function formatJson(host: PciHost): string {
  const s = host.spec;
  return (
    JSON.stringify(
      {
        name: s.name,
        file: s.file,
        cpu: s.cpu,
        iommu: s.iommu,
        numa: s.numa,
        devices: host.sorted().map((d) => ({
          bdf: d.bdf,
          name: d.name,
          role: d.role,
          hostBridge: d.hostBridge.name,
          upstream: d.upstream?.bdf ?? null,
          vendor: `0x${h(d.ids.vendor, 4)}`,
          device: `0x${h(d.ids.device, 4)}`,
          class: `0x${h(d.ids.classCode, 6)}`,
          busRange: d.busRange ?? null,
          acsCtrl: d.acsCtrl ?? null,
          numaNode: d.numaNode,
          driver: d.driver ?? null,
          iommuGroup: d.iommuGroup ?? null,
          bars: d.bars.map((b) => ({ index: b.index, start: `0x${b.start.toString(16)}`, size: b.size, is64: b.is64, prefetch: b.prefetch })),
          cmb: d.endpoint?.cmb ?? null,
          p2pmem: d.endpoint?.p2pmem ?? null,
        })),
      },
      null,
      2,
    ) + '\n'
  );
}
