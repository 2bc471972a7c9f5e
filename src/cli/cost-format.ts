// The two time columns every compound-page table prints: measured here and
// the cover letter's reference, never blended (native-notes/compound-pages.md).

import { COVER_LETTER_REFERENCE, mmapNs, type EntryCosts, type HostCosts } from '../model/index.js';
import type { PageTableEntries } from '../model/index.js';
import { formatNs } from '../model/index.js';

/** [measured here, cover-letter reference] for mapping these entries. */
export function mmapCells(e: PageTableEntries, costs: HostCosts): [string, string] {
  const cell = (c: EntryCosts) => {
    const ns = mmapNs(e, c);
    return ns === undefined ? 'n/a' : formatNs(ns);
  };
  return [cell(costs.entries), cell(COVER_LETTER_REFERENCE)];
}

/** The per-entry cost table and where each figure comes from. */
export function entryCostLines(costs: HostCosts): string[] {
  const rows: [string, string, string][] = [['cost per page-table entry', 'measured here', 'cover-letter reference']];
  const label = { pte: 'PTE (4 KiB)', pmd: 'PMD (2 MiB)', pud: 'PUD (1 GiB)' } as const;
  for (const level of ['pte', 'pmd', 'pud'] as const) {
    const here = costs.entries[level].ns;
    const ref = COVER_LETTER_REFERENCE[level].ns;
    rows.push([`  ${label[level]}`, here === undefined ? 'not measured' : formatNs(here), ref === undefined ? 'none given' : formatNs(ref)]);
  }
  const out = table(rows);
  out.push(`  measured here: ${costs.measured}`);
  for (const level of ['pte', 'pmd', 'pud'] as const) out.push(`    ${level.toUpperCase()}: ${costs.entries[level].source}`);
  out.push('  cover-letter reference: its two figures (0.8 s and 0.04 ms for 32 GB) spread over the entries they imply; shown beside, fitted to nothing');
  return out;
}

/** Left-aligned columns, two spaces apart. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}
