// What a provider's memory costs under a folio policy: struct pages, the
// entries needed to map all of it, the predicted mmap time, pool fragmentation.

import type { P2pAllocation, P2pdmaProvider } from '../p2pdma/index.js';
import { mappingEntries, predictedMmapNs, PAGE_SIZE, PMD_SIZE, structPageBytes, type PageTableEntries } from './folio.js';

export interface ProviderFolioFacts {
  bdf: string;
  policy: string;
  folioSize: number;
  size: number;
  available: number;
  largestFree: number;
  /** free bytes in whole aligned blocks of the folio size: what aligned mappings can still get */
  alignedFree: number;
  structPages: { plain: number; dedup: number };
  /** mapping all of the memory in one go */
  fullMap: PageTableEntries;
  fullMapNs: number;
}

export function providerFolioFacts(p: P2pdmaProvider): ProviderFolioFacts {
  const size = p.pool.size;
  // no folio larger than the memory itself
  const want = p.folios.policy === 'base' ? PAGE_SIZE : p.folios.align;
  const folio = [want, PMD_SIZE, PAGE_SIZE].find((f) => f <= want && f <= size && (f === PAGE_SIZE || size >= f)) ?? PAGE_SIZE;
  // device-align fixes the folios at probe; best-effort decides per mmap, so its
  // struct pages are those of the largest folio it may use
  const fullMap = mappingEntries(0, 0, size - (size % folio), folio);
  fullMap.pte += (size % folio) / PAGE_SIZE;
  return {
    bdf: p.dev.bdf,
    policy: p.folios.policy,
    folioSize: folio,
    size,
    available: p.pool.avail,
    largestFree: p.pool.largestFree(),
    alignedFree: p.pool.alignedFree(folio),
    structPages: structPageBytes(size, folio),
    fullMap,
    fullMapNs: predictedMmapNs(fullMap),
  };
}

export function formatEntries(e: PageTableEntries): string {
  const parts = [e.pud ? `${e.pud} PUD` : '', e.pmd ? `${e.pmd} PMD` : '', e.pte ? `${e.pte} PTE` : ''].filter(Boolean);
  return parts.length ? parts.join(' + ') : 'none';
}

export function formatFolios(a: P2pAllocation): string {
  if (!a.folio) return `${a.size / PAGE_SIZE}x4K`;
  const name = (order: number) => (order === 18 ? '1G' : order === 9 ? '2M' : '4K');
  return [...a.folio.folios.entries()]
    .sort((x, y) => y[0] - x[0])
    .map(([o, n]) => `${n}x${name(o)}`)
    .join('+');
}

export function formatBytes(n: number): string {
  for (const [u, m] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n >= m) return `${+(n / m).toFixed(2)} ${u}`;
  return `${n} B`;
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${+(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${+(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(3)} µs`;
  return `${Math.round(ns)} ns`;
}
