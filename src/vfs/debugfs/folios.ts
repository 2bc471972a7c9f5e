// MNT/sys/kernel/debug/p2pemu/folios: per provider the folio policy, pool
// fragmentation and struct-page memory; per live allocation its folios and the
// entries a kernel would install (native-notes/compound-pages.md). Times are
// not kernel state: `p2pemu report MNT` adds them.

import { formatBytes, formatEntries, formatFolios, providerFolioFacts } from '../../model/mm/folio-report.js';
import type { P2pdmaSubsystem } from '../../model/p2pdma/index.js';

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
