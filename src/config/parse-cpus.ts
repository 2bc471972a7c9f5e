// The cpu: and numa: sections: the CPU vendor the kernel would identify, and
// per-node cpu lists as ranges below NR_CPUS, so no CPU mask is ever built
// from one entry per CPU.

import { CPU_VENDORS, NR_CPUS_MAX, type CpuRange, type CpuSpec, type NumaNodeSpec } from './spec.js';
import type { Cursor } from './yaml-cursor.js';

export function parseCpu(cpu: Cursor): CpuSpec {
  if (cpu.present) cpu.map(['vendor', 'family', 'model']);
  const vendor = cpu.get('vendor').str('GenuineIntel');
  if (!(CPU_VENDORS as readonly string[]).includes(vendor)) {
    cpu.get('vendor').fail(`unknown CPU vendor ${JSON.stringify(vendor)} (the kernel knows: ${CPU_VENDORS.map((v) => JSON.stringify(v)).join(', ')})`);
  }
  return {
    vendor,
    family: cpu.get('family').int(6, 0, 0xff + 0xf),
    model: cpu.get('model').int(0x6a, 0, 0xff),
  };
}

/** "0-3,8" → [[0, 3], [8, 8]]: ascending, each CPU below NR_CPUS_MAX. */
function parseCpulist(c: Cursor): CpuRange[] {
  const text = c.str();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) c.fail(`bad cpu list "${text.slice(0, 40)}" (expected e.g. 0-7 or 0-3,8-11)`);
  const ranges: CpuRange[] = [];
  for (const part of text.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    if (a >= NR_CPUS_MAX || b! >= NR_CPUS_MAX) c.fail(`CPU ${Math.max(a, b!)} is beyond NR_CPUS (CPUs are numbered 0..${NR_CPUS_MAX - 1})`);
    if (b! < a) c.fail(`cpu range ${part} runs backwards`);
    const last = ranges[ranges.length - 1];
    if (last && a <= last[1]) c.fail(`cpu list "${text}" must go up: ${part} overlaps or precedes ${last[0]}-${last[1]}`);
    ranges.push([a, b!]);
  }
  return ranges;
}

export function parseNuma(list: Cursor): NumaNodeSpec[] {
  const seen: { node: number; ranges: CpuRange[] }[] = [];
  const nodes = list.list().map((n) => {
    n.map(['node', 'cpus']);
    const node = n.get('node').int(undefined, 0, 1023);
    if (seen.some((s) => s.node === node)) n.get('node').fail(`NUMA node ${node} is listed twice`);
    const ranges = parseCpulist(n.get('cpus'));
    for (const other of seen) {
      const clash = ranges.find(([a, b]) => other.ranges.some(([c, d]) => a <= d && c <= b));
      if (clash) n.get('cpus').fail(`CPUs ${clash[0]}-${clash[1]} already belong to NUMA node ${other.node}`);
    }
    seen.push({ node, ranges });
    return { node, cpus: n.get('cpus').str(), ranges };
  });
  return nodes.length > 0 ? nodes : [{ node: 0, cpus: '0-7', ranges: [[0, 7]] }];
}
