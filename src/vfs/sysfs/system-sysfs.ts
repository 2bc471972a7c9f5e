// /sys/devices/system/cpu and /sys/devices/system/node as the topology's
// numa: section describes them (drivers/base/cpu.c, node.c, topology.c):
// one package per NUMA node, one core per CPU (no SMT), the memory of a node
// a fixed size. hwloc (lstopo) and numactl read these.

import type { NumaNodeSpec } from '../../config/index.js';
import type { DirNode } from '../node.js';
import { pathOf, relativeTarget, type InodeTable } from '../tree.js';
import type { CpuRange } from '../../config/index.js';
import { cpulistText, cpumaskText, mergeCpuRanges } from './pci-format.js';
import { addPowerDir } from './pci-device-extras.js';
import { ueventWrite } from './synth-uevent.js';
import { kstrtobool } from './kstrto.js';

/** Memory each emulated NUMA node reports (the topology has no memory key yet). */
export const NODE_MEMORY_KB = 16 * 1024 * 1024;
/** NR_CPUS - 1 of the kernel this mimics (a 6.18 x86_64 build shows 255 here) */
const KERNEL_MAX = 255;
// SLIT distances: local and remote (ACPI's defaults)
const LOCAL_DISTANCE = 10;
const REMOTE_DISTANCE = 21;

// kernel: node_read_meminfo(), drivers/base/node.c: "Node N Key:  %8lu kB" lines
function meminfoText(node: number): string {
  const used = Math.floor(NODE_MEMORY_KB / 16);
  const rows: [string, number][] = [
    ['MemTotal', NODE_MEMORY_KB],
    ['MemFree', NODE_MEMORY_KB - used],
    ['MemUsed', used],
    ['SwapCached', 0],
    ['Active', 0],
    ['Inactive', 0],
    ['Dirty', 0],
    ['Writeback', 0],
    ['FilePages', 0],
    ['Mapped', 0],
    ['AnonPages', 0],
    ['Shmem', 0],
    ['HugePages_Total', 0],
    ['HugePages_Free', 0],
  ];
  return rows
    .map(([k, v]) => (k.startsWith('HugePages') ? `Node ${node} ${`${k}:`.padEnd(15)} ${String(v).padStart(5)}\n` : `Node ${node} ${`${k}:`.padEnd(15)} ${String(v).padStart(8)} kB\n`))
    .join('');
}

export function addSystemSysfs(t: InodeTable, numa: NumaNodeSpec[], mountedAt: number): void {
  const system = t.dirs(t.root, 'sys/devices/system');
  const cpuDir = t.dir(system, 'cpu');
  const nodeDir = t.dir(system, 'node');
  const nodes = [...numa].sort((a, b) => a.node - b.node);
  const expand = (ranges: CpuRange[]) => ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
  const cpusOf = new Map(nodes.map((n) => [n.node, expand(n.ranges)]));
  const rangesOf = new Map(nodes.map((n) => [n.node, n.ranges]));
  const allRanges = mergeCpuRanges(nodes.map((n) => n.ranges));
  const all = expand(allRanges);
  const nrCpuIds = all[all.length - 1]! + 1;
  const nodeOfCpu = new Map<number, number>();
  for (const [node, cpus] of cpusOf) for (const c of cpus) nodeOfCpu.set(c, node);
  const ro = (dir: DirNode, name: string, show: () => string) => t.text(dir, name, 0o444, show);
  const one = (cpu: number): CpuRange[] => [[cpu, cpu]];
  const mask = (ranges: CpuRange[]) => cpumaskText(ranges, nrCpuIds);

  // kernel: cpu_root_attrs and the cpumask attributes, drivers/base/cpu.c
  const cpuList = cpulistText(allRanges);
  for (const f of ['online', 'possible', 'present']) ro(cpuDir, f, () => cpuList);
  ro(cpuDir, 'offline', () => '\n');
  ro(cpuDir, 'isolated', () => '\n');
  ro(cpuDir, 'kernel_max', () => `${KERNEL_MAX}\n`);
  t.text(cpuDir, 'uevent', 0o644, () => '', ueventWrite);
  addPowerDir(t, cpuDir, mountedAt);
  for (const cpu of all) {
    const d = t.dir(cpuDir, `cpu${cpu}`);
    // the boot CPU cannot go offline: no online file
    // kernel: online_store(), drivers/base/core.c: kstrtobool, else EINVAL (going offline is not modelled)
    if (cpu !== all[0]) t.text(d, 'online', 0o644, () => '1\n', (text) => void kstrtobool(text));
    t.text(d, 'uevent', 0o644, () => '', ueventWrite);
    addPowerDir(t, d, mountedAt);
    // kernel: topology attributes, drivers/base/topology.c
    const node = nodeOfCpu.get(cpu)!;
    const pkg = cpusOf.get(node)!;
    const pkgRanges = rangesOf.get(node)!;
    const topo = t.dir(d, 'topology');
    const lists: [string, CpuRange[]][] = [
      ['thread_siblings', one(cpu)],
      ['core_cpus', one(cpu)],
      ['cluster_cpus', one(cpu)],
      ['core_siblings', pkgRanges],
      ['die_cpus', pkgRanges],
      ['package_cpus', pkgRanges],
    ];
    for (const [name, cpus] of lists) {
      ro(topo, name, () => mask(cpus));
      ro(topo, `${name}_list`, () => cpulistText(cpus));
    }
    ro(topo, 'core_id', () => `${pkg.indexOf(cpu)}\n`);
    ro(topo, 'physical_package_id', () => `${nodes.findIndex((n) => n.node === node)}\n`);
    ro(topo, 'die_id', () => '0\n');
    ro(topo, 'cluster_id', () => '65535\n');
  }

  // kernel: node_state_attr, drivers/base/node.c
  const nodeList = cpulistText(mergeCpuRanges(nodes.map((n) => [[n.node, n.node] as CpuRange])));
  for (const f of ['online', 'possible', 'has_cpu', 'has_memory', 'has_normal_memory']) ro(nodeDir, f, () => nodeList);
  ro(nodeDir, 'has_generic_initiator', () => '\n');
  t.text(nodeDir, 'uevent', 0o644, () => '', ueventWrite);
  addPowerDir(t, nodeDir, mountedAt);
  for (const n of nodes) {
    const d = t.dir(nodeDir, `node${n.node}`);
    const cpus = cpusOf.get(n.node)!;
    ro(d, 'cpumap', () => mask(n.ranges));
    ro(d, 'cpulist', () => cpulistText(n.ranges));
    ro(d, 'distance', () => `${nodes.map((o) => (o.node === n.node ? LOCAL_DISTANCE : REMOTE_DISTANCE)).join(' ')}\n`);
    ro(d, 'meminfo', () => meminfoText(n.node));
    ro(d, 'numastat', () => 'numa_hit 0\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\nlocal_node 0\nother_node 0\n');
    t.text(d, 'compact', 0o200, undefined, () => undefined);
    t.text(d, 'uevent', 0o644, () => '', ueventWrite);
    addPowerDir(t, d, mountedAt);
    // kernel: register_cpu_under_node(): node links to its CPUs and back
    for (const cpu of cpus) {
      const c = cpuDir.children.get(`cpu${cpu}`) as DirNode;
      t.symlink(d, `cpu${cpu}`, relativeTarget(pathOf(d), pathOf(c)));
      t.symlink(c, `node${n.node}`, relativeTarget(pathOf(c), pathOf(d)));
    }
  }
}
