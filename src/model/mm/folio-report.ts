// What a provider's memory costs under a folio policy, in counts the kernel's
// rules give: struct pages backed at registration, the entries needed to map
// all of it, pool fragmentation. Times come from cost-model.ts.

import type { P2pAllocation, P2pdmaProvider, P2pdmaSubsystem } from '../p2pdma/index.js';
import { mappingEntries, PAGE_SIZE, PMD_SIZE, type FolioPolicy, type PageTableEntries } from './folio.js';
import { pgmapStructPages, type StructPageMemory } from './vmemmap.js';

export interface ProviderFolioFacts {
  bdf: string;
  policy: FolioPolicy;
  /** device-align: the pgmap's folio; best-effort: the largest a mapping may get; base: 4 KiB */
  folioSize: number;
  size: number;
  available: number;
  largestFree: number;
  /** the largest free block aligned to the folio size at both ends */
  largestAlignedFree: number;
  /** free bytes in whole aligned blocks of the folio size: what aligned mappings can still get */
  alignedFree: number;
  /** decided by the pgmaps' vmemmap_shift at registration, not by the policy's mmaps */
  structPages: StructPageMemory;
  /** mapping all of the memory in one go, at an address aligned like the memory */
  fullMap: PageTableEntries;
}

export function providerFolioFacts(p: P2pdmaProvider): ProviderFolioFacts {
  const size = p.pool.size;
  const want = p.folios.policy === 'base' ? PAGE_SIZE : p.folios.align;
  // no folio larger than the memory itself
  const folio = [want, PMD_SIZE, PAGE_SIZE].find((f) => f <= want && f <= size) ?? PAGE_SIZE;
  const fullMap = mappingEntries(0, 0, size - (size % folio), folio);
  fullMap.pte += (size % folio) / PAGE_SIZE;
  const structPages = p.pgmaps
    .map((m) => pgmapStructPages(m.size, m.vmemmapShift))
    .reduce((a, b) => ({ plain: a.plain + b.plain, backed: a.backed + b.backed, optimized: a.optimized || b.optimized }), { plain: 0, backed: 0, optimized: false });
  return {
    bdf: p.dev.bdf,
    policy: p.folios.policy,
    folioSize: folio,
    size,
    available: p.pool.avail,
    largestFree: p.pool.largestFree(),
    largestAlignedFree: p.pool.largestAlignedFree(folio),
    alignedFree: p.pool.alignedFree(folio),
    structPages,
    fullMap,
  };
}

export function formatEntries(e: PageTableEntries): string {
  const parts = [e.pud ? `${e.pud} PUD` : '', e.pmd ? `${e.pmd} PMD` : '', e.pte ? `${e.pte} PTE` : ''].filter(Boolean);
  return parts.length ? parts.join(' + ') : 'none';
}

export function formatFolioCounts(folios: Map<number, number>): string {
  const name = (order: number) => (order === 18 ? '1G' : order === 9 ? '2M' : '4K');
  return [...folios.entries()]
    .sort((x, y) => y[0] - x[0])
    .map(([o, n]) => `${n}x${name(o)}`)
    .join('+');
}

export function formatFolios(a: P2pAllocation): string {
  return a.folio ? formatFolioCounts(a.folio.folios) : `${a.size / PAGE_SIZE}x4K`;
}

export function formatBytes(n: number): string {
  for (const [u, m] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n >= m) return `${+(n / m).toFixed(2)} ${u}`;
  return `${n} B`;
}

/** Exact: the largest unit that divides the size (4092 KiB, not "4 MiB"). */
export function formatBytesExact(n: number): string {
  for (const [u, m] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n >= m && n % m === 0) return `${n / m} ${u}`;
  return `${n} B`;
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${+(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${+(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(3)} µs`;
  return `${+ns.toFixed(1)} ns`;
}

/**
 * MNT/sys/kernel/debug/p2pemu/folios (and `p2pemu report --mount`): per
 * provider the folio policy, pool fragmentation and struct-page memory; per
 * live allocation its folios and the entries a kernel would install
 * (native-notes/compound-pages.md). Times are not kernel state: the report adds them.
 */
export function foliosText(p2pdma: P2pdmaSubsystem): string {
  const out: string[] = [];
  for (const p of p2pdma.allProviders()) {
    const f = providerFolioFacts(p);
    out.push(
      `${f.bdf} policy ${f.policy} folio ${formatBytes(f.folioSize)} size ${f.size} available ${f.available} largest_free ${f.largestFree}` +
        ` largest_aligned_free ${f.largestAlignedFree} aligned_free ${f.alignedFree} struct_pages ${f.structPages.backed} vmemmap_optimized ${f.structPages.optimized ? 1 : 0}`,
    );
  }
  out.push('');
  out.push('id provider size pid comm folios va va_aligned entries entries_if_kernel_placed');
  for (const a of p2pdma.allocations.values()) {
    const fm = a.folio;
    if (!fm) continue;
    const aligned = fm.folioSize > 4096 && fm.va % fm.folioSize === a.addr % fm.folioSize;
    out.push(
      [
        a.id,
        a.provider.dev.bdf,
        a.size,
        a.owner.pid,
        a.owner.comm,
        formatFolios(a),
        `0x${fm.va.toString(16)}`,
        fm.folioSize === 4096 ? '-' : aligned ? 'yes' : 'no',
        formatEntries(fm.entries).replace(/ /g, ''),
        formatEntries(fm.entriesIfAligned).replace(/ /g, ''),
      ].join(' '),
    );
  }
  return out.join('\n') + '\n';
}
