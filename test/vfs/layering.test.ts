// DESIGN.md layers: fuse/ knows no sysfs, vfs/ knows no wire format, model/ knows no paths.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const src = (layer: string) => files(join(__dirname, '../../src', layer)).map((f) => ({ f, text: readFileSync(f, 'utf8') }));

describe('layers import only downwards', () => {
  test('nothing under src/vfs imports src/fuse or names a FUSE_ constant', () => {
    for (const { f, text } of src('vfs')) {
      expect(text, f).not.toMatch(/from '\.\.\/(\.\.\/)?fuse\//);
      expect(text, f).not.toMatch(/\bFUSE_[A-Z]/);
    }
  });

  test('nothing under src/fuse knows PCI or sysfs', () => {
    for (const { f, text } of src('fuse')) {
      expect(text, f).not.toMatch(/from '\.\.\/(vfs|model|config)\//);
      expect(text, f).not.toMatch(/sysfs|\bpci\b/i);
    }
  });

  test('nothing under src/model imports the fuse, vfs, daemon or cli layers', () => {
    for (const { f, text } of src('model')) expect(text, f).not.toMatch(/from '(\.\.\/)+(fuse|vfs|daemon|cli)\//);
  });
});
