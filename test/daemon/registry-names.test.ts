// Issue 9: mount points /a/x_y and /a/x/y once shared one registry record (and
// one default state dir), so unmounting one stopped the other's daemon.
import { describe, expect, test } from 'vitest';
import { mountKey } from '../../src/daemon/registry.js';
import { defaultStateDir } from '../../src/daemon/state-dir.js';

const TRICKY = ['/a/x_y', '/a/x/y', '/a/x%2Fy', '/a/x%y', '/a/x y', '/a/x\ty', '/a/x_2Fy', '/a/é', '/a/%C3%A9', '/', '/a', '/a/', `/${'d'.repeat(300)}`, `/${'d'.repeat(301)}`, `/${'%'.repeat(120)}`];

describe('mount points get names no other mount point shares', () => {
  test('records and default state dirs of mount points that used to collide are distinct', () => {
    expect(mountKey('/a/x_y')).not.toBe(mountKey('/a/x/y'));
    expect(defaultStateDir('/a/x_y')).not.toBe(defaultStateDir('/a/x/y'));
  });

  test('every distinct absolute path gets a distinct name, short enough for a directory entry', () => {
    const distinct = [...new Set(TRICKY.map((p) => (p.length > 1 ? p.replace(/\/$/, '') : p)))];
    const names = distinct.map(mountKey);
    expect(new Set(names).size).toBe(distinct.length);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(255 - '.json'.length);
      expect(n).toMatch(/^[A-Za-z0-9._%-]+$/);
      expect(n).not.toMatch(/^\.\.?$/);
    }
  });

  test('a name reads back to its mount point (the encoding is reversible below the length limit)', () => {
    for (const p of ['/a/x_y', '/a/x y', '/a/é', '/mnt/p2p-0']) expect(decodeURIComponent(mountKey(p))).toBe(p);
  });
});
