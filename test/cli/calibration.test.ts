// The measured-here column comes from this machine's helper output, never from
// the cover letter: what the helper printed is what the tables use.
import { describe, expect, test } from 'vitest';
import { costsFromRaw } from '../../src/cli/calibration.js';
import { mmapCells } from '../../src/cli/cost-format.js';
import { pinNs } from '../../src/model/mm/cost-model.js';

const raw = {
  pte_ns: 200,
  pte_how: 'MAP_POPULATE of a 256 MiB memfd',
  pmd_error: 'no 2 MiB pages could be reserved',
  pud_error: 'this host offers no 1 GiB pages',
  pin_4k_256: 6_553_600, // 100 ns per page (65536 pages)
  pin_thp_256: 256_000, // 2 µs per 2 MiB folio
  pin_thp_coverage: 1,
  pin_how: 'io_uring buffer registration',
  took_ms: 900,
};

describe('measured-here figures', () => {
  test('a level the helper measured is used as measured; one it could not measure says why, and its times are n/a', () => {
    const c = costsFromRaw(raw, 'now');
    expect(c.entries.pte).toEqual({ ns: 200, source: 'MAP_POPULATE of a 256 MiB memfd' });
    expect(c.entries.pmd).toEqual({ source: 'not measured: no 2 MiB pages could be reserved' });
    expect(mmapCells({ pte: 512, pmd: 0, pud: 0 }, c)[0]).toBe('102.4 µs');
    expect(mmapCells({ pte: 0, pmd: 1, pud: 0 }, c)[0]).toBe('n/a');
  });

  test('pin cost per folio from the largest samples: 4 KiB pages per page, THPs per 2 MiB folio', () => {
    const c = costsFromRaw(raw, 'now');
    expect(c.pin.page.ns).toBeCloseTo(100, 6);
    expect(c.pin.pmdFolio.ns).toBeCloseTo(2000, 6);
    expect(pinNs(new Map([[9, 8]]), c.pin)).toBeCloseTo(16000, 6);
    expect(pinNs(new Map([[18, 1]]), c.pin)).toBeUndefined();
  });

  test('THP figures are not used when the kernel gave the buffer too few THPs', () => {
    expect(costsFromRaw({ ...raw, pin_thp_coverage: 0.3 }, 'now').pin.pmdFolio).toEqual({ source: 'not measured: only 30% of the buffer got THPs' });
  });
});
