// What the README and --help promise matches what the code accepts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { PROFILES } from '../src/config/spec.js';
import { MOUNT_USAGE } from '../src/cli/mount-cmd.js';

const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');

test('the README\'s topology keys and mount --help name every kernel profile', () => {
  const topLevel = /Top level: `profile`\s*\(([^)]*)\)/.exec(readme)?.[1] ?? '';
  for (const p of PROFILES) {
    expect(topLevel, 'README topology keys').toContain(`\`${p}\``);
    expect(MOUNT_USAGE, 'mount --help').toContain(p);
  }
});

test('npm run bench reaches a bench script that exists', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { scripts: Record<string, string> };
  const makefile = readFileSync(join(__dirname, '../Makefile'), 'utf8');
  const command = pkg.scripts.bench === 'make bench' ? /^bench:.*\n\t(.*)$/m.exec(makefile)?.[1] : pkg.scripts.bench;
  const script = /\bnode (\S+)/.exec(command ?? '')?.[1];
  expect(script).toBeDefined();
  expect(existsSync(join(__dirname, '..', script!))).toBe(true);
});
