// MNT/sys/kernel/debug/p2pemu/folios: per provider the folio policy, pool
// fragmentation and struct-page memory; per live allocation its folios, the
// entries a kernel would install, and the predicted cost (native-notes/compound-pages.md).

import { predictedMmapNs } from '../model/mm/folio.js';
import { formatBytes, formatEntries, formatFolios, formatNs, providerFolioFacts } from '../model/mm/folio-report.js';
import type { P2pdmaSubsystem } from '../model/p2pdma/index.js';

export function foliosText(p2pdma: P2pdmaSubsystem): string {
  const out: string[] = [];
  for (const p of p2pdma.allProviders()) {
    const f = providerFolioFacts(p);
    out.push(
      `${f.bdf} policy ${f.policy} folio ${formatBytes(f.folioSize)} size ${f.size} available ${f.available} largest_free ${f.largestFree} aligned_free ${f.alignedFree}` +
        ` struct_pages ${f.structPages.plain} dedup ${f.structPages.dedup}`,
    );
  }
  out.push('');
  out.push('id provider size pid comm folios va va_aligned entries predicted entries_if_kernel_placed predicted_if_kernel_placed');
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
        formatNs(predictedMmapNs(fm.entries)).replace(/ /g, ''),
        formatEntries(fm.entriesIfAligned).replace(/ /g, ''),
        formatNs(predictedMmapNs(fm.entriesIfAligned)).replace(/ /g, ''),
      ].join(' '),
    );
  }
  return out.join('\n') + '\n';
}
