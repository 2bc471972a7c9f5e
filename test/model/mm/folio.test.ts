// kernel-facts §6.4 (struct pages, vmemmap de-duplication), §6.5 (PMD/PUD insertion);
// the seed "Enable compound page for p2pdma memory" and its review.
import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { GenPool } from '../../../src/model/mm/gen-pool.js';
import { folioLayout, mappingEntries, PMD_SIZE, PUD_SIZE } from '../../../src/model/mm/folio.js';
import { pgmapStructPages } from '../../../src/model/mm/vmemmap.js';
import { providerFolioFacts } from '../../../src/model/mm/folio-report.js';
import { bootHostModel } from '../../../src/model/host-model.js';

const KiB = 1024;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('aligned pool allocation', () => {
  test('an aligned request skips an unaligned hole and leaves it free', () => {
    const p = new GenPool<string>();
    p.addChunk(0x4000_0000, 0x4000_0000, 8 * MiB, 'x');
    p.alloc(4 * KiB);
    const a = p.allocAligned(2 * MiB, 2 * MiB)!;
    expect(a.addr).toBe(0x4000_0000 + 2 * MiB);
    // the 2 MiB - 4 KiB before it is still there for small requests
    expect(p.alloc(8 * KiB)!.addr).toBe(0x4000_0000 + 4 * KiB);
  });

  test('fragmentation: 3 MiB free in one piece, but no aligned 2 MiB block left', () => {
    const p = new GenPool<string>();
    p.addChunk(0, 0, 4 * MiB, 'x');
    p.alloc(4 * KiB);
    const mid = p.alloc(3 * MiB)!;
    p.alloc(4 * KiB);
    p.free(mid.addr, mid.size);
    expect(p.largestFree()).toBe(3 * MiB);
    expect(p.alignedFree(2 * MiB)).toBe(0);
    expect(p.allocAligned(2 * MiB, 2 * MiB)).toBeUndefined();
    expect(p.alloc(2 * MiB)!.addr).toBe(4 * KiB);
  });
});

describe('struct-page memory is decided by the pgmap at registration (kernel-facts §6.4 table)', () => {
  test.each([
    [256 * MiB, 0, 4 * MiB],
    [256 * MiB, 9, 1 * MiB],
    [1 * GiB, 0, 16 * MiB],
    [1 * GiB, 9, 4 * MiB],
    [1 * GiB, 18, 8 * KiB],
    [32 * GiB, 0, 512 * MiB],
    [32 * GiB, 9, 128 * MiB],
    [32 * GiB, 18, 256 * KiB],
    [128 * GiB, 18, 1 * MiB],
    [256 * GiB, 0, 4 * GiB],
    [256 * GiB, 18, 2 * MiB],
  ])('%d bytes registered with vmemmap_shift %d: %d bytes of struct pages backed', (bytes, shift, backed) => {
    expect(pgmapStructPages(bytes, shift).backed).toBe(backed);
    expect(pgmapStructPages(bytes, shift).plain).toBe((bytes / 4096) * 64);
  });

  // kernel: vmemmap_can_optimize() / __populate_section_memmap(), mm/sparse-vmemmap.c
  test('best-effort saves no struct pages: its pgmap keeps vmemmap_shift 0, whatever folios its mmaps get', () => {
    const facts = (folios: string) =>
      providerFolioFacts(
        bootHostModel(
          parseTopology('t', `host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children:\n          - { kind: p2pmem, name: p, bars: [{ index: 0, size: 16KiB }, { index: 4, size: 2GiB }], p2pmem: { bar: 4${folios} } }\n`),
        ).p2pdma.allProviders()[0]!,
      );
    expect(facts(', folios: best-effort, align: 1GiB').structPages).toEqual({ plain: 32 * MiB, backed: 32 * MiB, optimized: false });
    expect(facts(', folios: device-align, align: 1GiB').structPages).toEqual({ plain: 32 * MiB, backed: 16 * KiB, optimized: true });
  });
});

describe('page-table entries', () => {
  test('32 GiB mapped with 1 GiB folios at aligned addresses is 32 PUD entries; with base pages 8,388,608 PTEs', () => {
    expect(mappingEntries(0, 0, 32 * GiB, PUD_SIZE)).toEqual({ pte: 0, pmd: 0, pud: 32 });
    expect(mappingEntries(0, 0, 32 * GiB, 4 * KiB)).toEqual({ pte: 8388608, pmd: 0, pud: 0 });
  });

  test('huge entries only where virtual and physical addresses share the alignment', () => {
    expect(mappingEntries(2 * MiB, 6 * MiB, 4 * MiB, PMD_SIZE)).toEqual({ pte: 0, pmd: 2, pud: 0 });
    expect(mappingEntries(2 * MiB + 4 * KiB, 6 * MiB, 4 * MiB, PMD_SIZE)).toEqual({ pte: 1024, pmd: 0, pud: 0 });
    // a 3 MiB mapping at aligned addresses: one PMD and 256 PTEs
    expect(mappingEntries(2 * MiB, 2 * MiB, 3 * MiB, PMD_SIZE)).toEqual({ pte: 256, pmd: 1, pud: 0 });
  });

  test('folio layouts are counts per order: 1 TiB in 4 KiB pages costs no per-page work', () => {
    // counts, not 2^28 objects (the time is measured by make bench, not here)
    expect(folioLayout(0, 2 ** 40, 4 * KiB)).toEqual(new Map([[0, 2 ** 28]]));
    expect(mappingEntries(0, 0, 2 ** 40, 4 * KiB).pte).toBe(2 ** 28);
    expect(folioLayout(4 * KiB, 4 * MiB, PMD_SIZE)).toEqual(new Map([[0, 512], [9, 1]]));
  });
});

describe('policies on a provider', () => {
  const boot = (folios: string, bar4 = '256MiB') =>
    bootHostModel(
      parseTopology(
        't',
        `host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children:\n          - { kind: p2pmem, name: p, bars: [{ index: 0, size: 16KiB }, { index: 4, size: ${bar4} }], p2pmem: { bar: 4${folios} } }\n`,
      ),
    );
  const alloc = (m: ReturnType<typeof boot>, len: number, va: number) =>
    m.p2pdma.allocMmap(m.pci.find('p')!, { len, pgoff: 0, shared: true, pid: 1, comm: 't', va });

  test('device-align refuses a mapping that is not a whole number of aligned folios, and logs it', () => {
    const m = boot(', folios: device-align, align: 2MiB');
    expect(() => alloc(m, 4 * KiB, 0x7f00_0000_0000)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => alloc(m, 2 * MiB, 0x7f00_0000_1000)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // the series' p2pmem_alloc_mmap() message (PATCH 10/13)
    expect(m.klog.grep('t: unaligned vma (0x7f0000000000~0x7f0000001000, 0x200000)')).toHaveLength(1);
    expect(m.klog.grep('unaligned vma')).toHaveLength(2);
    expect(alloc(m, 4 * MiB, 0x7f00_0020_0000).folio!.entries).toEqual({ pte: 0, pmd: 2, pud: 0 });
  });

  // kernel: pci_p2pdma_check_pagemap_align() of the series (PATCH 13/13)
  test('a device-wide 1 GiB folio on 256 MiB of memory: registration is refused, logged, and kept with its rule', () => {
    const m = boot(', folios: device-align, align: 1GiB');
    expect(m.p2pdma.providerOf(m.pci.find('p')!)).toBeUndefined();
    expect(m.p2pdma.refusals.map((r) => [r.errno, r.rule, r.size])).toEqual([['EINVAL', 'series-pagemap-align', 256 * MiB]]);
    expect(m.klog.grep('invalid align 0x40000000 for bar 4')).toHaveLength(1);
  });

  test('best-effort falls back from 2 MiB to base pages when no aligned block is left', () => {
    const m = boot(', folios: best-effort, align: 2MiB', '4MiB');
    // a page at 0 and at 3 MiB + 4 KiB: 3 MiB free in one piece, no aligned 2 MiB block
    const dev = m.pci.find('p')!;
    m.p2pdma.allocKernel(dev, 4 * KiB);
    const mid = m.p2pdma.allocKernel(dev, 3 * MiB)!;
    m.p2pdma.allocKernel(dev, 4 * KiB);
    m.p2pdma.freeKernel(mid);
    const a = alloc(m, 2 * MiB, 0x7f00_0020_0000);
    expect(a.folio!.folioSize).toBe(4 * KiB);
    expect(a.folio!.entries.pte).toBe(512);
  });

  test('best-effort reports what a kernel that aligned the address itself would install', () => {
    const m = boot(', folios: best-effort, align: 2MiB');
    const a = alloc(m, 2 * MiB, 0x7f00_0000_1000); // the process's address is not aligned
    expect(a.folio!.entries).toEqual({ pte: 512, pmd: 0, pud: 0 });
    expect(a.folio!.entriesIfAligned).toEqual({ pte: 0, pmd: 1, pud: 0 });
  });
});
