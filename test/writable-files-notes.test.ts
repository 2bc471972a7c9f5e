// native-notes/writable-files.md prints the table the fuzz test holds the mount to:
// every writable file and ioctl node with its errnos, nothing more, nothing less.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { IOCTL_CLASSES, WRITABLE_CLASSES } from './e2e/fuzz/writable-files.js';

const rows = () => {
  const md = readFileSync(join(__dirname, '../native-notes/writable-files.md'), 'utf8');
  // | `name` | ... | ERRNOS | source |: the errno cell is the one of comma-separated E-codes
  return [...md.matchAll(/^\| `([^`]+)` \|(.*)\|$/gm)].map((m) => ({
    name: m[1]!,
    errnos: m[2]!.split(/(?<!\\)\|/).map((c) => c.trim()).find((c) => /^E[A-Z0-9]+(, E[A-Z0-9]+)*$/.test(c)),
  }));
};

test('the notes list every writable file and ioctl node with exactly the errnos the fuzz test allows', () => {
  const want = [...WRITABLE_CLASSES, ...IOCTL_CLASSES].map((c) => ({ name: c.name, errnos: c.errnos.join(', ') }));
  expect(rows()).toEqual(want);
});
