// The sections of `p2pemu report`: providers, refused registrations, the
// policies compared like with like, O_DIRECT pin cost, live allocations.
// Counts come from the model's kernel rules; times from cost-format.ts.

import type { FolioSpec, TopologySpec } from '../config/index.js';
import { COVER_LETTER_PIN_REFERENCE, pinNs, type HostCosts, type PinCosts } from '../model/index.js';
import { freshMappingFolios, PAGE_SIZE, PMD_SIZE, PUD_SIZE, type FolioPolicy, type PageTableEntries } from '../model/index.js';
import { formatBytes, formatEntries, formatFolioCounts, formatNs, providerFolioFacts } from '../model/index.js';
import { bootHostModel, type HostModel } from '../model/index.js';
import type { RegistrationRefusal } from '../model/index.js';
import { mmapCells, table } from './cost-format.js';

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

export function folioSpec(policy: FolioPolicy, align: number): FolioSpec {
  return { policy, align: policy === 'base' ? PAGE_SIZE : align };
}

const sum = (e: PageTableEntries[]) => e.reduce((a, b) => ({ pte: a.pte + b.pte, pmd: a.pmd + b.pmd, pud: a.pud + b.pud }), { pte: 0, pmd: 0, pud: 0 });

export function providerLines(m: HostModel, costs: HostCosts): string[] {
  const rows = [['provider', 'name', 'memory', 'policy', 'folio', 'struct pages', 'vmemmap', 'map all of it', 'measured here', 'cover-letter ref']];
  for (const p of m.p2pdma.allProviders()) {
    const f = providerFolioFacts(p);
    const [here, ref] = mmapCells(f.fullMap, costs);
    rows.push([f.bdf, p.dev.name, formatBytes(f.size), f.policy, formatBytes(f.folioSize), formatBytes(f.structPages.backed), f.structPages.optimized ? 'optimized' : 'plain', formatEntries(f.fullMap), here, ref]);
  }
  return table(rows);
}

const RULES: Record<RegistrationRefusal['rule'], string> = {
  'subsection-align': 'arch_add_memory() refuses ranges not aligned to the 2 MiB memory-hotplug sub-section (mm/memory_hotplug.c check_pfn_span; mainline, verified)',
  'series-pagemap-align':
    'pci_p2pdma_check_pagemap_align(): BAR start, size and offset must be multiples of the folio (compound-page series, PATCH 13/13 of 2025-12-20; verified in the series text, not merged)',
  'nvme-cmb-align': 'nvme_map_cmb() skips a CMB that is not 2 MiB aligned, silently (drivers/nvme/host/pci.c; mainline, kernel-facts §5.2)',
};

/** Every range that did not become P2P memory, with the rule that refused it. */
export function refusalLines(m: HostModel): string[] {
  if (m.p2pdma.refusals.length === 0) return ['every P2P range registered'];
  const out = [`not registered (${m.p2pdma.refusals.length}): these ranges give no P2P memory at all`];
  for (const r of m.p2pdma.refusals) {
    out.push(`  ${r.dev.bdf} ${r.dev.name} BAR ${r.bar}, ${formatBytes(r.size)}: ${r.errno ? `refused (${r.errno})` : 'skipped'}: ${r.reason}`);
    out.push(`    rule: ${RULES[r.rule]}`);
  }
  return out;
}

interface PolicyTotals {
  label: string;
  folio: number;
  registered: string;
  structPlain: number;
  structBacked: number;
  entries: PageTableEntries;
  small: string;
}

function totalsUnder(load: () => TopologySpec, policy: FolioPolicy, align: number): PolicyTotals {
  const spec = load();
  applyFolioPolicy(spec, folioSpec(policy, align));
  const m = bootHostModel(spec);
  const facts = m.p2pdma.allProviders().map(providerFolioFacts);
  const candidates = facts.length + m.p2pdma.refusals.length;
  const memory = facts.reduce((n, f) => n + f.size, 0);
  return {
    label: policy,
    folio: policy === 'base' ? PAGE_SIZE : align,
    registered: `${facts.length} of ${candidates} (${formatBytes(memory)})`,
    structPlain: facts.reduce((n, f) => n + f.structPages.plain, 0),
    structBacked: facts.reduce((n, f) => n + f.structPages.backed, 0),
    entries: sum(facts.map((f) => f.fullMap)),
    small:
      policy === 'device-align'
        ? `refused (EINVAL at mmap) unless a multiple of ${formatBytes(align)} at an aligned address`
        : policy === 'best-effort'
          ? 'served, with smaller folios'
          : 'served (4 KiB pages)',
  };
}

/** Each policy at the same folio size, so the trade-off reads straight. */
export function tradeOffLines(load: () => TopologySpec, costs: HostCosts): string[] {
  const rows = [['folio', 'policy', 'registered', 'struct pages', 'saved by vmemmap', 'map everything', 'measured here', 'cover-letter ref', 'a mapping that is not whole folios']];
  const all = [totalsUnder(load, 'base', PAGE_SIZE)];
  for (const align of [PMD_SIZE, PUD_SIZE]) for (const policy of ['device-align', 'best-effort'] as const) all.push(totalsUnder(load, policy, align));
  for (const t of all) {
    const saved = t.structPlain - t.structBacked;
    const why = t.label === 'best-effort' ? 'none: per-mmap folios, the pgmap keeps vmemmap_shift 0' : t.label === 'base' ? '-' : `${formatBytes(saved)} (${+((100 * saved) / t.structPlain).toFixed(2)}%)`;
    rows.push([formatBytes(t.folio), t.label, t.registered, formatBytes(t.structBacked), why, formatEntries(t.entries), ...mmapCells(t.entries, costs), t.small]);
  }
  return [
    ...table(rows),
    'a device-wide folio size (device-align) buys the struct-page saving, decided when the memory is registered',
    '(vmemmap_can_optimize, vmemmap_populate_compound_pages); best-effort buys PMD/PUD mappings without refusing',
    'small mappings, and saves no struct pages. Rows compare like with like: same folio size, same topology.',
  ];
}

const PIN_SIZES = [2 ** 20, 16 * 2 ** 20, 256 * 2 ** 20, 2 ** 30];

const pinCell = (folios: Map<number, number> | undefined, pin: PinCosts) => {
  if (!folios) return 'refused';
  const ns = pinNs(folios, pin);
  return `${formatFolioCounts(folios)} ${ns === undefined ? 'n/a' : formatNs(ns)}`;
};

/** Pinning an O_DIRECT buffer: measured on anonymous memory, then modelled on P2P memory per policy. */
export function pinLines(costs: HostCosts): string[] {
  const out = ['measured here (anonymous memory; the same GUP walk per page or per folio):'];
  const sizes = [...new Set(costs.pinSamples.map((s) => s.bytes))];
  if (sizes.length === 0) out.push(`  ${costs.pin.page.source}`);
  else {
    const rows = [['  buffer', '4 KiB pages', '2 MiB THPs']];
    for (const b of sizes) {
      const at = (k: '4k' | 'thp') => costs.pinSamples.find((s) => s.bytes === b && s.backing === k);
      rows.push([`  ${formatBytes(b)}`, at('4k') ? formatNs(at('4k')!.ns) : '-', at('thp') ? formatNs(at('thp')!.ns) : '-']);
    }
    out.push(...table(rows));
  }
  out.push(`  per 4 KiB page: ${costs.pin.page.ns === undefined ? 'n/a' : formatNs(costs.pin.page.ns)} (${costs.pin.page.source})`);
  out.push(`  per 2 MiB folio: ${costs.pin.pmdFolio.ns === undefined ? 'n/a' : formatNs(costs.pin.pmdFolio.ns)} (${costs.pin.pmdFolio.source})`);
  out.push(`  per 1 GiB folio: n/a (${costs.pin.pudFolio.source})`);
  out.push('modelled for a P2P buffer on an empty pool (folios the policy gives × the per-folio figures above):');
  const cols: [string, FolioPolicy, number][] = [
    ['base', 'base', PAGE_SIZE],
    ['device-align 2 MiB', 'device-align', PMD_SIZE],
    ['best-effort 2 MiB', 'best-effort', PMD_SIZE],
    ['device-align 1 GiB', 'device-align', PUD_SIZE],
    ['best-effort 1 GiB', 'best-effort', PUD_SIZE],
  ];
  const rows = [['  O_DIRECT of', ...cols.map((c) => c[0])]];
  for (const b of PIN_SIZES) rows.push([`  ${formatBytes(b)}`, ...cols.map(([, policy, align]) => pinCell(freshMappingFolios({ policy, align }, b), costs.pin))]);
  out.push(...table(rows));
  out.push(`cover-letter reference: ${COVER_LETTER_PIN_REFERENCE.pmdFolio.source.replace(/^.*?: /, '')}; no figure to compare with`);
  return out;
}

/** "1PMD+512PTE" (the debugfs form) back into counts. */
export function parseEntries(text: string): PageTableEntries | undefined {
  const e: PageTableEntries = { pte: 0, pmd: 0, pud: 0 };
  if (text === 'none') return e;
  for (const part of text.split('+')) {
    const m = /^(\d+)(PTE|PMD|PUD)$/.exec(part);
    if (!m) return undefined;
    e[m[2]!.toLowerCase() as keyof PageTableEntries] += Number(m[1]);
  }
  return e;
}

/** The mount's debugfs folios listing, each allocation with its two time columns. */
export function liveLines(folios: string, costs: HostCosts): string[] {
  const out: string[] = [];
  for (const line of folios.trimEnd().split('\n')) {
    const f = line.split(' ');
    const now = f.length >= 10 ? parseEntries(f[8]!) : undefined;
    const placed = f.length >= 10 ? parseEntries(f[9]!) : undefined;
    if (line.startsWith('id ')) out.push(`  ${line} measured_here reference measured_if_kernel_placed reference_if_kernel_placed`);
    else if (now && placed) out.push(`  ${line} ${[...mmapCells(now, costs), ...mmapCells(placed, costs)].map((c) => c.replace(/ /g, '')).join(' ')}`);
    else out.push(`  ${line}`);
  }
  return out;
}
