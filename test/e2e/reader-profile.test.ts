// P2PEMU_PROFILE=FILE in the daemon's environment: each reader thread appends
// where its time went, by phase, to FILE when the mount goes (the per-request
// cost breakdown of native-notes/performance.md).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CLI, describeMount, mounted, RUN_DIR, sh, tempDir } from './helpers.js';

describeMount('a daemon started with P2PEMU_PROFILE', () => {
  test('writes one line per reader after unmount: requests served and microseconds per phase, data and reply among them', () => {
    const dir = tempDir('p2pemu-profile-');
    const mnt = join(dir, 'mnt');
    const file = join(dir, 'profile.jsonl');
    sh(`mkdir -p '${mnt}'`);
    const env = { ...process.env, P2PEMU_RUN_DIR: RUN_DIR, P2PEMU_PROFILE: file };
    const r = spawnSync(process.execPath, [CLI, 'mount', mnt, '--state', join(dir, 'state'), '--readers', '2'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    try {
      expect(sh(`dd if='${mnt}/dev/nvme0n1' of=/dev/null bs=4k count=64 iflag=direct status=none`).code).toBe(0);
      // nothing is written while the readers serve
      expect(existsSync(file)).toBe(false);
    } finally {
      spawnSync(process.execPath, [CLI, 'unmount', mnt], { env, timeout: 60_000 });
      if (mounted(mnt)) sh(`umount -l '${mnt}'`);
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requests: number; us: Record<string, number> });
    expect(lines).toHaveLength(2);
    expect(lines.reduce((a, l) => a + l.requests, 0)).toBeGreaterThanOrEqual(64);
    const phases = new Set(lines.flatMap((l) => Object.keys(l.us)));
    for (const p of ['wait', 'decode', 'data', 'reply']) expect(phases).toContain(p);
    // no P2P mapping exists: nothing was classified
    expect(phases).not.toContain('classify');
  });
});
