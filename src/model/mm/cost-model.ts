// What mapping and pinning P2P memory costs in time. Two sources, never mixed:
// the figures the compound-page series' cover letter gives (a reference,
// labelled as such), and figures measured on the machine that runs p2pemu
// (scripts/calibrate/mm-costs.c). The model supplies the counts they apply
// to: page-table entries (folio.ts) and folios (native-notes/compound-pages.md).

import { PAGE_SIZE, PMD_ORDER, PUD_ORDER, type PageTableEntries } from './folio.js';

/** A per-unit time, or why there is none. */
export interface Figure {
  ns?: number;
  /** how it was obtained, or why it is missing */
  source: string;
}

export type EntryLevel = 'pte' | 'pmd' | 'pud';
export type EntryCosts = Record<EntryLevel, Figure>;

const COVER_LETTER = 'cover letter of "Enable compound page for p2pdma memory" (Hou Tao, 2025-12-20)';
const GIB32 = 32 * 2 ** 30;

/**
 * The cover letter's two figures, spread over the entries they imply ("32GB" read
 * as 32 GiB): 0.8 s for 8,388,608 PTEs, 0.04 ms for 32 PUDs. It gives none for 2 MiB.
 */
export const COVER_LETTER_REFERENCE: EntryCosts = {
  pte: { ns: 0.8e9 / (GIB32 / PAGE_SIZE), source: `${COVER_LETTER}: 32 GB mapped in about 0.8 s with 4 KiB pages` },
  pmd: { source: `${COVER_LETTER}: no 2 MiB figure given` },
  pud: { ns: 0.04e6 / (GIB32 / 2 ** 30), source: `${COVER_LETTER}: 32 GB mapped in about 0.04 ms with 1 GiB pages` },
};

/** Time to install these entries, or undefined when a level they need has no figure. */
export function mmapNs(e: PageTableEntries, costs: EntryCosts): number | undefined {
  let ns = 0;
  for (const level of ['pte', 'pmd', 'pud'] as const) {
    if (e[level] === 0) continue;
    const per = costs[level].ns;
    if (per === undefined) return undefined;
    ns += e[level] * per;
  }
  return ns;
}

/** Pin cost per folio size, in ns per folio pinned (a 4 KiB page is a folio of order 0). */
export interface PinCosts {
  /** order 0 */
  page: Figure;
  /** order 9 (2 MiB) */
  pmdFolio: Figure;
  /** order 18 (1 GiB) */
  pudFolio: Figure;
}

/** The cover letter says GUP gets cheaper with compound pages but gives no number. */
export const COVER_LETTER_PIN_REFERENCE: PinCosts = {
  page: { source: `${COVER_LETTER}: no pin figure given` },
  pmdFolio: { source: `${COVER_LETTER}: says get_user_pages gets faster with 2 MiB pages, no figure` },
  pudFolio: { source: `${COVER_LETTER}: says get_user_pages gets faster with 1 GiB pages, no figure` },
};

/**
 * Pinning a buffer made of these folios (counts by order): GUP takes one
 * reference per folio and fills the page array per page; the measured per-folio
 * figures carry both. Undefined when an order has no figure.
 */
export function pinNs(folios: Map<number, number>, costs: PinCosts): number | undefined {
  let ns = 0;
  for (const [order, count] of folios) {
    const fig = order === PUD_ORDER ? costs.pudFolio : order === PMD_ORDER ? costs.pmdFolio : order === 0 ? costs.page : undefined;
    if (fig?.ns === undefined) return undefined;
    ns += count * fig.ns;
  }
  return ns;
}

/** A measured pin of an anonymous buffer (for the "measured here" table). */
export interface PinSample {
  bytes: number;
  /** 4 KiB pages or 2 MiB THPs */
  backing: '4k' | 'thp';
  ns: number;
}

export interface HostCosts {
  entries: EntryCosts;
  pin: PinCosts;
  pinSamples: PinSample[];
  /** when and where it was measured, for the header line */
  measured: string;
}

/** Costs when nothing was measured: every figure says why. */
export function unmeasuredCosts(why: string): HostCosts {
  const none = { source: why };
  return { entries: { pte: none, pmd: none, pud: none }, pin: { page: none, pmdFolio: none, pudFolio: none }, pinSamples: [], measured: why };
}
