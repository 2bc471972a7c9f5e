// lspci on a dump (-F) against lspci on the mounted import: the lines only one
// side can give are the ones native-notes/replay.md lists, each with its reason.

import { sh } from './helpers.js';

/** Lines lspci prints from sysfs only: a dump file has no driver, NUMA, IOMMU or slot files. */
const SYSFS_ONLY = [/^\tKernel driver in use: /, /^\tKernel modules: /, /^\tNUMA node: /, /^\tIOMMU group: /, /^\tPhysical Slot: /];

/**
 * What lspci -F cannot know or reads differently, rewritten to one form:
 * - " [size=…]": BAR sizes come from sysfs resource (dump.c has none);
 * - bridge windows: with sysfs, show_htype1() takes the window type from the
 *   resource start address (lib/sysfs.c keeps no type bits there), so a 32-bit
 *   I/O or 64-bit prefetchable window prints narrower than -F shows it.
 */
export function normalizeLspci(text: string): string {
  return text
    .split('\n')
    .filter((l) => !SYSFS_ONLY.some((re) => re.test(l)))
    .map((l) =>
      l
        .replace(/ \[size=[^\]]*\]/g, '')
        .replace(/^(\t(?:I\/O|Memory|Prefetchable memory) behind bridge: )([0-9a-f]+)-([0-9a-f]+) +\[\d+-bit\]/, (_m, what: string, a: string, b: string) => `${what}${BigInt(`0x${a}`).toString(16)}-${BigInt(`0x${b}`).toString(16)}`),
    )
    .join('\n');
}

/** lspci with `args` on a dump file and on a mount's sysfs. */
export function lspciBoth(dump: string, sysfs: string, args: string): { dump: string; mount: string } {
  return {
    dump: sh(`lspci -F '${dump}' ${args} 2>/dev/null`).stdout,
    mount: sh(`lspci -A linux-sysfs -O sysfs.path='${sysfs}' ${args} 2>/dev/null`).stdout,
  };
}
