// The rest of a recorded machine: the CPU the kernel identified (vendor,
// family, model from /proc/cpuinfo), the NUMA nodes and their CPUs, whether
// an IOMMU made groups, and a name and header for the file.

import { readdirSync, readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';

export interface HostFacts {
  cpu: { vendor: string; family: number; model: number };
  numa: { node: number; cpus: string }[];
  iommu: boolean;
  name: string;
  kernel: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The first processor's vendor_id, cpu family and model (what boot_cpu_data holds). */
export function parseCpuinfo(text: string): HostFacts['cpu'] | undefined {
  const first = text.split('\n\n')[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const vendor = field('vendor_id');
  const family = field('cpu family');
  const model = field('model');
  if (!vendor || family === undefined || model === undefined) return undefined;
  return { vendor, family: Number(family), model: Number(model) };
}

export function readHostFacts(sys: string, proc = '/proc'): HostFacts {
  const cpu = parseCpuinfo(read(join(proc, 'cpuinfo')) ?? '') ?? { vendor: 'GenuineIntel', family: 6, model: 0 };
  let numa: HostFacts['numa'] = [];
  try {
    numa = readdirSync(join(sys, 'devices/system/node'))
      .filter((n) => /^node\d+$/.test(n))
      .map((n) => ({ node: Number(n.slice(4)), cpus: read(join(sys, 'devices/system/node', n, 'cpulist'))?.trim() ?? '' }))
      .filter((n) => n.cpus !== '')
      .sort((a, b) => a.node - b.node);
  } catch {
    // no CONFIG_NUMA: one node holding every online CPU
  }
  if (!numa.length) numa = [{ node: 0, cpus: read(join(sys, 'devices/system/cpu/online'))?.trim() || '0' }];
  let iommu = false;
  try {
    iommu = readdirSync(join(sys, 'kernel/iommu_groups')).length > 0;
  } catch {
    /* no IOMMU groups */
  }
  return { cpu, numa, iommu, name: hostname(), kernel: release() };
}
