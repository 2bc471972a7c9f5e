// Rules every mount suite keeps, so that a run without root skips with a
// reason instead of failing in a beforeAll, and a new suite cannot forget it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const dir = join(__dirname, 'e2e');
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => ({ f, text: readFileSync(join(dir, f), 'utf8') }));

test('a file-level beforeAll that mounts asks canMount() before it mounts (one inside a describeMount runs only where it can)', () => {
  const bad: string[] = [];
  for (const { f, text } of suites) {
    for (const m of text.matchAll(/^beforeAll\((?:async )?\(\) => \{\n([\s\S]*?)\n\}\);/gm)) {
      const body = m[1]!;
      const mountAt = body.search(/mountTopology\(|\.mount\(\)/);
      if (mountAt >= 0 && !body.slice(0, mountAt).includes('canMount()')) bad.push(f);
    }
  }
  expect(bad).toEqual([]);
});

test('suites that need root are describeMount (the skip names its reason), never describe.skipIf(!isRoot)', () => {
  expect(suites.filter(({ text }) => /skipIf\(\s*!isRoot\s*\)/.test(text)).map(({ f }) => f)).toEqual([]);
});
