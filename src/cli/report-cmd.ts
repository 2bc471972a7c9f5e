// p2pemu report: compound pages for P2P memory under a folio policy.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FolioSpec, TopologySpec } from '../config/spec.js';
import { parseSize } from '../config/sizes.js';
import { COST_NS, FOLIO_POLICIES, type FolioPolicy } from '../model/mm/folio.js';
import { formatBytes, formatEntries, formatNs, providerFolioFacts } from '../model/mm/folio-report.js';
import { bootHostModel } from '../model/host-model.js';
import { readRecord } from '../daemon/registry.js';
import { DEFAULT_TOPOLOGY_NAME } from '../config/default-topology.js';
import { parse, topologyOrExit } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const REPORT_USAGE = `usage: p2pemu report [MOUNTPOINT] [--topology FILE] [--policy base|device-align|best-effort] [--align 2MiB|1GiB]

Compound pages for P2P memory. For each provider of the topology: the folio
policy, struct-page memory with and without vmemmap de-duplication, the entries
needed to map all of its memory and the predicted kernel time of that mmap;
then the same totals under each policy. With MOUNTPOINT (and no --topology, the
topology that mount was made from), also every live
allocation of that mount: its folios, the entries for the address the process
got and for the address a kernel with this policy would have chosen.
  --policy P   apply P to every provider (default: what the topology says)
  --align S    folio size for device-align / largest tried by best-effort`;

export function applyFolioPolicy(spec: TopologySpec, folios: FolioSpec): void {
  const walk = (nodes: TopologySpec['hostBridges'][number]['children']): void => {
    for (const n of nodes) {
      if (n.kind === 'root_port') walk(n.children);
      else if (n.kind === 'switch') n.ports.forEach((p) => walk(p.children));
      else {
        if (n.p2pmem) n.p2pmem.folios = { ...folios };
        if (n.cmb) n.cmb.folios = { ...folios };
      }
    }
  };
  for (const hb of spec.hostBridges) walk(hb.children);
}

function providerTable(spec: TopologySpec): { lines: string[]; plain: number; dedup: number; mapNs: number } {
  const m = bootHostModel(spec);
  const rows = [['provider', 'memory', 'policy', 'folio', 'struct pages', 'with dedup', 'map all of it', 'predicted']];
  let plain = 0;
  let dedup = 0;
  let mapNs = 0;
  for (const p of m.p2pdma.allProviders()) {
    const f = providerFolioFacts(p);
    plain += f.structPages.plain;
    dedup += f.structPages.dedup;
    mapNs += f.fullMapNs;
    rows.push([f.bdf, formatBytes(f.size), f.policy, formatBytes(f.folioSize), formatBytes(f.structPages.plain), formatBytes(f.structPages.dedup), formatEntries(f.fullMap), formatNs(f.fullMapNs)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return { lines: rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()), plain, dedup, mapNs };
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { topology: { type: 'string' }, policy: { type: 'string' }, align: { type: 'string' } }, REPORT_USAGE);
  if (values.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new CliError(`report takes at most one MOUNTPOINT\n${REPORT_USAGE}`, EXIT_USAGE);
  if (values.policy !== undefined && !(FOLIO_POLICIES as readonly string[]).includes(values.policy)) {
    throw new CliError(`--policy must be one of: ${FOLIO_POLICIES.join(', ')}`, EXIT_USAGE);
  }
  const align = values.align === undefined ? undefined : parseSize(values.align);
  if (values.align !== undefined && align !== 2 ** 21 && align !== 2 ** 30) throw new CliError('--align must be 2MiB or 1GiB', EXIT_USAGE);
  // with a mount point and no --topology: the topology that mount was made from
  const rec = positionals[0] && values.topology === undefined ? readRecord(resolve(positionals[0])) : undefined;
  const file = values.topology ?? (rec && rec.topology !== DEFAULT_TOPOLOGY_NAME ? rec.topology : undefined);
  const load = () => topologyOrExit(file);
  const folioOf = (policy: FolioPolicy): FolioSpec => ({ policy, align: policy === 'base' ? 4096 : (align ?? (policy === 'best-effort' ? 2 ** 30 : 2 ** 21)) });

  const spec = load();
  if (values.policy) applyFolioPolicy(spec, folioOf(values.policy as FolioPolicy));
  const out = [
    `cost model: ${COST_NS.pte.toFixed(1)} ns per PTE insert, ${(COST_NS.pmd / 1000).toFixed(2)} µs per PMD or PUD insert`,
    '  (fitted to the seed: 32 GiB mapped in ~0.8 s with 4 KiB pages and ~0.04 ms with 1 GiB pages; no 2 MiB figure was given)',
    '  struct page: 64 bytes; vmemmap de-duplication keeps 2 vmemmap pages per compound page',
    '',
  ];
  const main = providerTable(spec);
  out.push(...main.lines, '', `total struct-page memory ${formatBytes(main.plain)} (${formatBytes(main.dedup)} with vmemmap de-duplication); mapping everything once: ${formatNs(main.mapNs)}`);
  out.push('', 'all providers under each policy:');
  for (const policy of FOLIO_POLICIES) {
    const s = load();
    applyFolioPolicy(s, folioOf(policy));
    const t = providerTable(s);
    out.push(`  ${policy.padEnd(13)} struct pages ${formatBytes(t.plain).padEnd(10)} with dedup ${formatBytes(t.dedup).padEnd(10)} map everything ${formatNs(t.mapNs)}`);
  }
  if (positionals[0]) {
    const mnt = resolve(positionals[0]);
    let live: string;
    try {
      live = readFileSync(join(mnt, 'sys/kernel/debug/p2pemu/folios'), 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${mnt}/sys/kernel/debug/p2pemu/folios (${(err as NodeJS.ErrnoException).code}): is it a p2pemu mount?`);
    }
    out.push('', `live on ${mnt}:`, ...live.trimEnd().split('\n').map((l) => `  ${l}`));
  }
  console.log(out.join('\n'));
  return 0;
}

