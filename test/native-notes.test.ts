// STYLE A15: every kernel function a model file says it mirrors is named in native-notes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

test('every "// kernel: name()" in src/model and src/vfs appears in a native note', () => {
  const notes = files(join(__dirname, '../native-notes'), '.md').map((f) => readFileSync(f, 'utf8')).join('\n');
  const missing: string[] = [];
  for (const f of [...files(join(__dirname, '../src/model'), '.ts'), ...files(join(__dirname, '../src/vfs'), '.ts')]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\/\/ kernel: (.*)/g)) {
      for (const name of m[1]!.matchAll(/([a-z_0-9]+)\(\)/g)) if (!notes.includes(name[1]!)) missing.push(`${name[1]} (${f.split('/src/')[1]})`);
    }
  }
  expect(missing).toEqual([]);
});
