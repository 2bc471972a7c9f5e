// Measured-here costs for `report` and `scenario`: scripts/calibrate/mm-costs.c
// is compiled with the system's C compiler at run time (like the other C
// helpers), run once per boot, and its output kept in the run directory, so
// later reports reuse it. Nothing here is fitted to the cover letter's figures.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REGISTRY_DIR } from '../daemon/index.js';
import { unmeasuredCosts, type Figure, type HostCosts, type PinSample } from '../model/index.js';

const SOURCE = fileURLToPath(new URL('../../scripts/calibrate/mm-costs.c', import.meta.url));
/** PTE run over 256 MiB, 64 PMDs (128 MiB of 2 MiB pages), 1 PUD, pins up to 256 MiB: about a second here */
const HELPER_ARGS = ['256', '64', '1', '256'];
const HELPER_TIMEOUT_MS = 60_000;
const MiB = 2 ** 20;

export type CalibrationMode = 'cached' | 'fresh' | 'off';

type Raw = Record<string, number | string>;

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

const cacheFile = () => join(REGISTRY_DIR, 'calibration', `${bootId()}.json`);

/** Builds and runs the helper; a string is the reason it could not. */
function runHelper(): Raw | string {
  const dir = mkdtempSync(join(tmpdir(), 'p2pemu-calibrate-'));
  try {
    const bin = join(dir, 'mm-costs');
    const cc = spawnSync('gcc', ['-O2', '-o', bin, SOURCE], { encoding: 'utf8' });
    if (cc.error) return `no C compiler to build the calibration helper (gcc: ${(cc.error as NodeJS.ErrnoException).code})`;
    if (cc.status !== 0) return `the calibration helper did not build: ${cc.stderr.trim().split('\n')[0]}`;
    const run = spawnSync(bin, HELPER_ARGS, { encoding: 'utf8', timeout: HELPER_TIMEOUT_MS });
    if (run.status !== 0) return `the calibration helper failed (${run.signal ?? `exit ${run.status}`}): ${run.stderr.trim().split('\n')[0] ?? ''}`;
    return JSON.parse(run.stdout) as Raw;
  } catch (err) {
    return `the calibration helper gave no usable output (${(err as Error).message})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fig = (raw: Raw, key: string): Figure =>
  typeof raw[`${key}_ns`] === 'number'
    ? { ns: raw[`${key}_ns`] as number, source: String(raw[`${key}_how`]) }
    : { source: `not measured: ${raw[`${key}_error`] ?? 'no figure'}` };

/** The helper's output as model figures. */
export function costsFromRaw(raw: Raw, when: string): HostCosts {
  const samples: PinSample[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const m = /^pin_(4k|thp)_(\d+)$/.exec(k);
    if (m && typeof v === 'number') samples.push({ backing: m[1] as '4k' | 'thp', bytes: Number(m[2]) * MiB, ns: v });
  }
  const largest = (backing: '4k' | 'thp') => samples.filter((s) => s.backing === backing).sort((a, b) => b.bytes - a.bytes)[0];
  const how = String(raw.pin_how ?? 'io_uring buffer registration');
  const small = largest('4k');
  const huge = largest('thp');
  const coverage = Number(raw.pin_thp_coverage ?? 0);
  const pinError = raw.pin_error ?? raw.pin_4k_error;
  return {
    entries: { pte: fig(raw, 'pte'), pmd: fig(raw, 'pmd'), pud: fig(raw, 'pud') },
    pin: {
      page: small ? { ns: small.ns / (small.bytes / 4096), source: `${how}, ${small.bytes / MiB} MiB in 4 KiB pages` } : { source: `not measured: ${pinError ?? 'no sample'}` },
      pmdFolio:
        huge && coverage >= 0.9
          ? { ns: huge.ns / (huge.bytes / (2 * MiB)), source: `${how}, ${huge.bytes / MiB} MiB in 2 MiB THPs` }
          : { source: `not measured: ${raw.pin_thp_error ?? (huge ? `only ${Math.round(coverage * 100)}% of the buffer got THPs` : 'no sample')}` },
      pudFolio: { source: `not measured: ${raw.pud_error ?? 'no 1 GiB pin is attempted (hugetlbfs 1 GiB pages would be needed)'}` },
    },
    pinSamples: samples.sort((a, b) => a.bytes - b.bytes),
    measured: `on this machine, ${when} (the helper took ${raw.took_ms ?? '?'} ms)`,
  };
}

/** This machine's costs: cached for the boot unless `fresh`; `off` measures nothing. */
export function hostCosts(mode: CalibrationMode): HostCosts {
  if (mode === 'off') return unmeasuredCosts('not measured (--no-calibration)');
  const file = cacheFile();
  if (mode === 'cached') {
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as { when: string; raw: Raw };
      return costsFromRaw(c.raw, c.when);
    } catch {
      /* none yet */
    }
  }
  const raw = runHelper();
  if (typeof raw === 'string') return unmeasuredCosts(`not measured: ${raw}`);
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  try {
    mkdirSync(join(REGISTRY_DIR, 'calibration'), { recursive: true, mode: 0o755 });
    writeFileSync(file, JSON.stringify({ when, raw }) + '\n');
  } catch {
    /* not cached (no write access to the run directory): measured again next time */
  }
  return costsFromRaw(raw, when);
}
