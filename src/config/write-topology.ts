// A replayed machine as topology YAML: what `p2pemu record` and
// `p2pemu import` write and parse-topology reads back. Every function is a
// `kind: function` with its config bytes (hex lines, zero lines left out),
// its resource lines and what sysfs showed for it; the file stays readable
// and editable (a comment names each function, `acs:` may be added).

import { formatSize } from './sizes.js';
import { formatConfigHex } from './raw-config.js';

export interface ReplayResource {
  index: number;
  start: number;
  size: number;
  flags: number;
}

export interface ReplayVf {
  config: Buffer | undefined;
  /** null: no driver */
  driver: string | null | undefined;
  irq?: number;
  msiIrqs?: number[];
  numaNode?: number;
  iommuGroup?: number;
}

export interface ReplayFunction {
  dev: number;
  fn: number;
  /** one line saying what it is, e.g. "0000:00:02.0 [1af4:1042] class 0x018000" */
  comment: string;
  name?: string;
  config: Buffer;
  resource: ReplayResource[];
  irq?: number;
  msiIrqs?: number[];
  numaNode?: number;
  /** null: no driver */
  driver: string | null;
  iommuGroup?: number;
  physicalSlot?: string;
  p2pmem?: { bar: number; size: number; comment?: string };
  sriov?: { numVfs: number; vfDriver: string | null; autoprobe: boolean; vfs: ReplayVf[] };
  children: ReplayFunction[];
}

export interface ReplayHostBridge {
  domain: number;
  bus: number;
  numaNode?: number;
  children: ReplayFunction[];
}

export interface ReplayHost {
  name: string;
  /** lines for the file's header comment */
  header: string[];
  cpu: { vendor: string; family: number; model: number };
  iommu: boolean;
  numa: { node: number; cpus: string }[];
  hostBridges: ReplayHostBridge[];
}

const hex = (n: number, w = 0) => `0x${n.toString(16).padStart(w, '0')}`;

/** A scalar YAML reads back as the same string. */
function str(s: string): string {
  return /^[A-Za-z0-9_./+-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|[-+]?[0-9.]+|0x[0-9a-f]+)$/i.test(s) ? s : JSON.stringify(s);
}

function size(n: number): string {
  const f = formatSize(n);
  return /^\d+B$/.test(f) ? String(n) : f;
}

/** Names by what a function is (its class), numbered per kind: host0, bridge0, storage1, net0 … */
export function functionNamer(): (classCode: number) => string {
  const count = new Map<string, number>();
  const kinds: Record<number, string> = { 1: 'storage', 2: 'net', 3: 'display', 4: 'media', 8: 'system', 0x0c: 'serial', 0x12: 'accel' };
  return (classCode) => {
    const base = classCode >>> 16;
    const kind = classCode >>> 8 === 0x0600 ? 'host' : base === 0x06 ? 'bridge' : (kinds[base] ?? 'fn');
    const n = count.get(kind) ?? 0;
    count.set(kind, n + 1);
    return `${kind}${n}`;
  };
}

function configLines(out: string[], pad: string, config: Buffer): void {
  out.push(`${pad}config_size: ${config.length}`);
  const hexText = formatConfigHex(config);
  if (hexText === '') {
    out.push(`${pad}config: ""`);
    return;
  }
  out.push(`${pad}config: |`);
  for (const line of hexText.trimEnd().split('\n')) out.push(`${pad}  ${line}`);
}

function vfLines(out: string[], pad: string, vf: ReplayVf): void {
  const first = out.length;
  if (vf.driver !== undefined) out.push(`${pad}driver: ${vf.driver === null ? 'none' : str(vf.driver)}`);
  if (vf.irq !== undefined) out.push(`${pad}irq: ${vf.irq}`);
  if (vf.msiIrqs?.length) out.push(`${pad}msi_irqs: [${vf.msiIrqs.join(', ')}]`);
  if (vf.numaNode !== undefined) out.push(`${pad}numa_node: ${vf.numaNode}`);
  if (vf.iommuGroup !== undefined) out.push(`${pad}iommu_group: ${vf.iommuGroup}`);
  if (vf.config) configLines(out, pad, vf.config);
  // the first key carries the list dash
  if (out.length > first) out[first] = `${pad.slice(2)}- ${out[first]!.slice(pad.length)}`;
  else out.push(`${pad.slice(2)}- {}`);
}

function functionLines(out: string[], pad: string, f: ReplayFunction): void {
  out.push(`${pad}- kind: function   # ${f.comment}`);
  const p = `${pad}  `;
  if (f.name) out.push(`${p}name: ${str(f.name)}`);
  out.push(`${p}slot: "${f.dev.toString(16).padStart(2, '0')}.${f.fn}"`);
  out.push(`${p}driver: ${f.driver === null ? 'none' : str(f.driver)}`);
  if (f.numaNode !== undefined) out.push(`${p}numa_node: ${f.numaNode}`);
  if (f.irq !== undefined) out.push(`${p}irq: ${f.irq}`);
  if (f.msiIrqs?.length) out.push(`${p}msi_irqs: [${f.msiIrqs.join(', ')}]`);
  if (f.iommuGroup !== undefined) out.push(`${p}iommu_group: ${f.iommuGroup}`);
  if (f.physicalSlot !== undefined) out.push(`${p}physical_slot: ${str(f.physicalSlot)}`);
  if (f.resource.length) {
    out.push(`${p}resource:`);
    for (const r of f.resource) out.push(`${p}  - { index: ${r.index}, start: ${hex(r.start)}, size: ${size(r.size)}, flags: ${hex(r.flags)} }`);
  }
  if (f.p2pmem) out.push(`${p}p2pmem: { bar: ${f.p2pmem.bar}, size: ${size(f.p2pmem.size)} }${f.p2pmem.comment ? `   # ${f.p2pmem.comment}` : ''}`);
  if (f.sriov) {
    out.push(`${p}sriov:`);
    out.push(`${p}  num_vfs: ${f.sriov.numVfs}`);
    out.push(`${p}  vf_driver: ${f.sriov.vfDriver === null ? 'none' : str(f.sriov.vfDriver)}`);
    out.push(`${p}  autoprobe: ${f.sriov.autoprobe}`);
    if (f.sriov.vfs.length) {
      out.push(`${p}  vfs:`);
      for (const vf of f.sriov.vfs) vfLines(out, `${p}      `, vf);
    }
  }
  configLines(out, p, f.config);
  if (f.children.length) {
    out.push(`${p}children:`);
    for (const c of f.children) functionLines(out, `${p}  `, c);
  }
}

// (named for what it writes: the same YAML parse-topology reads)
export function writeTopology(h: ReplayHost): string {
  const out: string[] = h.header.map((l) => `# ${l}`.trimEnd());
  out.push(`name: ${str(h.name)}`);
  out.push(`cpu: { vendor: ${str(h.cpu.vendor)}, family: ${hex(h.cpu.family)}, model: ${hex(h.cpu.model)} }`);
  out.push(`iommu: ${h.iommu}`);
  out.push('numa:');
  for (const n of h.numa) out.push(`  - { node: ${n.node}, cpus: ${str(n.cpus)} }`);
  out.push('host_bridges:');
  for (const hb of h.hostBridges) {
    out.push(`  - domain: ${hex(hb.domain, 4)}`);
    out.push(`    bus: ${hex(hb.bus, 2)}`);
    out.push('    function: none      # every function of the root bus is listed below, 00.0 included');
    if (hb.numaNode !== undefined) out.push(`    numa_node: ${hb.numaNode}`);
    out.push('    children:');
    for (const f of hb.children) functionLines(out, '      ', f);
  }
  return out.join('\n') + '\n';
}
