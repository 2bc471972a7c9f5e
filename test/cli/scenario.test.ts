// p2pemu scenario: the review's example and user-written allocation sequences,
// run on the model (the measured-here column is left unmeasured: no timing here).
import { describe, expect, test } from 'vitest';
import { REVIEW_SEQUENCE, runSequence } from '../../src/cli/scenario-cmd.js';
import { parseSequence, SequenceError } from '../../src/cli/sequence.js';
import { unmeasuredCosts } from '../../src/model/mm/cost-model.js';

const NONE = unmeasuredCosts('not measured (test)');
const run = (text: string, policy: 'base' | 'device-align' | 'best-effort') => runSequence(parseSequence(text, '-e', true), policy, NONE).join('\n');
/** the row of a step: its cells split on runs of 2+ spaces */
const row = (out: string, step: string) => out.split('\n').find((l) => l.trim().startsWith(step))!.trim().split(/ {2,}/);

describe('the review scenario (4 MiB CMB: app1 maps 4 KiB, app2 maps 2 MiB aligned)', () => {
  test('device-align refuses the 4 KiB mapping with the series\' unaligned-vma message', () => {
    expect(row(run(REVIEW_SEQUENCE, 'device-align'), 'app1: mmap a')[1]).toBe('refused (EINVAL): nvme 0000:01:00.0: app1: unaligned vma (0x7f1234561000~0x7f1234562000, 0x200000)');
  });

  test('best-effort serves app1 with one page and still gives app2 an aligned 2 MiB folio (one PMD)', () => {
    const out = run(REVIEW_SEQUENCE, 'best-effort');
    expect(row(out, 'app1: mmap a').slice(1, 4)).toEqual(['at offset 0x0, va 0x7f1234561000', '1x4K', '1 PTE']);
    expect(row(out, 'app2: mmap b').slice(1, 4)).toEqual(['at offset 0x200000, va 0x7f1234600000', '1x2M', '1 PMD']);
  });

  test('base pages put app2 right after app1: 512 PTEs', () => {
    expect(row(run(REVIEW_SEQUENCE, 'base'), 'app2: mmap b').slice(1, 4)).toEqual(['at offset 0x1000, va 0x7f1234600000', '512x4K', '512 PTE']);
  });
});

describe('a user\'s own sequence', () => {
  // the review's argument: aligned allocation fragments a small CMB
  test('after a 4 KiB and a 2 MiB mapping on 4 MiB, best-effort has no aligned 2 MiB block left and refuses a second 2 MiB mapping with ENOMEM', () => {
    const out = run('app1: mmap a 4KiB; app2: mmap b 2MiB; app3: mmap c 2MiB', 'best-effort');
    expect(row(out, 'app2: mmap b').slice(-2)).toEqual(['2044 KiB', '0 B']);
    expect(row(out, 'app3: mmap c')[1]).toMatch(/^refused \(ENOMEM\)/);
    expect(out).toMatch(/1 refused; still mapped: 1 PMD \+ 1 PTE/);
  });

  test('munmap returns the pages: the largest free block grows back', () => {
    const out = run('app1: mmap a 2MiB; app1: munmap a', 'device-align');
    expect(row(out, 'app1: munmap a')).toEqual(['app1: munmap a', 'freed 2 MiB at offset 0x0', '4 MiB', '4 MiB']);
  });

  test('a 1 GiB folio size on a 4 MiB CMB: registration is refused, with the rule, and every mmap fails', () => {
    const out = run('align 1GiB; app1: mmap a 2MiB', 'device-align');
    expect(out).toMatch(/refused \(EINVAL\): 4 MiB at offset 0 B of BAR 2 is not whole 1 GiB folios/);
    expect(out).toMatch(/pci_p2pdma_check_pagemap_align\(\)/);
    expect(out).toMatch(/every mmap fails: ENODEV/);
  });

  test.each([
    ['app1: mmap a 4KB; app2: munmap a', '-e:2: mapping "a" belongs to app1, not app2'],
    ['app1: mmap a four', '-e:1: the mapping size must be a size such as 4KiB, 2MiB or 1GiB, not "four"'],
    ['app1: mmap a 4KiB; memory 8MiB', '-e:2: "memory" must come before the first mmap'],
    ['app1: jump a 4KiB', '-e:1: unknown operation "jump" (mmap or munmap)'],
    ['align 4KiB; app1: mmap a 4KiB', '-e:1: align must be 2MiB or 1GiB'],
    ['# nothing', '-e: no mmap or munmap steps'],
  ])('bad input %j is one clear line: %s', (text, message) => {
    expect(() => parseSequence(text, '-e', true)).toThrow(new SequenceError(message));
  });

  test('a file names its line numbers', () => {
    expect(() => parseSequence('memory 4MiB\n\napp1: mmap a 4KiB at 12\n', 'steps.txt')).toThrow('steps.txt:3: "at" needs a page-aligned address such as 0x7f0000200000');
  });
});
