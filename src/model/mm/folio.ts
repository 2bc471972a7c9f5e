// Compound pages (folios) for P2P memory: the three designs of the thread
// "Enable compound page for p2pdma memory" (kernel-facts §6.4, §6.5) and the
// page-table entries a kernel would install for a mapping. Struct-page memory
// is in vmemmap.ts, times in cost-model.ts.

export const PAGE_SIZE = 4096;
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SIZE = 1024 * 1024 * 1024;
export const PMD_ORDER = 9;
export const PUD_ORDER = 18;

/**
 * base: mainline (4 KiB pages, vm_insert_page per page, unaligned first fit);
 * device-align: the series (fixed folio order per pgmap, unaligned mappings refused);
 * best-effort: the review (highest order an aligned allocation can get, per mmap).
 */
export const FOLIO_POLICIES = ['base', 'device-align', 'best-effort'] as const;
export type FolioPolicy = (typeof FOLIO_POLICIES)[number];

export interface FolioConfig {
  policy: FolioPolicy;
  /** device-align: the folio size of the pgmap; best-effort: the largest size tried */
  align: number;
}

export const BASE_FOLIOS: FolioConfig = { policy: 'base', align: PAGE_SIZE };

export function orderOf(size: number): number {
  return Math.round(Math.log2(size / PAGE_SIZE));
}

/** The largest huge size allowed by `maxFolio`, or a page. */
function topSize(maxFolio: number): number {
  return maxFolio >= PUD_SIZE ? PUD_SIZE : maxFolio >= PMD_SIZE ? PMD_SIZE : PAGE_SIZE;
}

const smaller = (size: number) => (size === PUD_SIZE ? PMD_SIZE : PAGE_SIZE);

/** Folios making up [pa, pa+len): counts per order, biggest aligned folio first (no per-page objects). */
export function folioLayout(pa: number, len: number, maxFolio: number): Map<number, number> {
  const out = new Map<number, number>();
  const add = (order: number, n: number) => {
    if (n > 0) out.set(order, (out.get(order) ?? 0) + n);
  };
  const fill = (from: number, to: number, size: number): void => {
    if (to <= from) return;
    if (size === PAGE_SIZE) {
      add(0, (to - from) / PAGE_SIZE);
      return;
    }
    const a = Math.min(Math.ceil(from / size) * size, to);
    const b = Math.max(a, Math.floor(to / size) * size);
    fill(from, a, smaller(size));
    add(orderOf(size), (b - a) / size);
    fill(b, to, smaller(size));
  };
  fill(pa, pa + len, topSize(maxFolio));
  return out;
}

export interface PageTableEntries {
  pte: number;
  pmd: number;
  pud: number;
}

/**
 * Entries a kernel installs to map [va, va+len) onto physical [pa, pa+len)
 * built of folios no larger than maxFolio: a PUD (PMD) entry where the virtual
 * and the physical 1 GiB (2 MiB) block are both aligned and lie in one folio;
 * 4 KiB PTEs elsewhere. Computed per block, never per page.
 */
export function mappingEntries(va: number, pa: number, len: number, maxFolio: number): PageTableEntries {
  const e: PageTableEntries = { pte: 0, pmd: 0, pud: 0 };
  const map = (vFrom: number, vTo: number, size: number): void => {
    if (vTo <= vFrom) return;
    const delta = pa - va;
    const next = smaller(size);
    // huge entries need the same alignment in both spaces
    if (size > maxFolio || delta % size !== 0) {
      if (next === PAGE_SIZE) e.pte += (vTo - vFrom) / PAGE_SIZE;
      else map(vFrom, vTo, next);
      return;
    }
    const a = Math.min(Math.ceil(vFrom / size) * size, vTo);
    const b = Math.max(a, Math.floor(vTo / size) * size);
    const count = (b - a) / size;
    if (size === PUD_SIZE) e.pud += count;
    else e.pmd += count;
    const rest = (from: number, to: number) => (next === PAGE_SIZE ? (e.pte += (to - from) / PAGE_SIZE) : map(from, to, next));
    rest(vFrom, a);
    rest(b, vTo);
  };
  map(va, va + len, PUD_SIZE);
  return e;
}

/** The folios an mmap of `bytes` gets from an empty pool under a policy; undefined when the policy refuses it. */
export function freshMappingFolios(cfg: FolioConfig, bytes: number): Map<number, number> | undefined {
  if (cfg.policy === 'base') return folioLayout(0, bytes, PAGE_SIZE);
  if (cfg.policy === 'device-align') return bytes % cfg.align === 0 ? folioLayout(0, bytes, cfg.align) : undefined;
  const top = [PUD_SIZE, PMD_SIZE].find((s) => s <= cfg.align && s <= bytes) ?? PAGE_SIZE;
  return folioLayout(0, bytes, top);
}
