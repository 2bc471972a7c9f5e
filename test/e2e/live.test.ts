// The commands that explain the machine, asked of a live mount (--mount):
// they follow setpci and remove on the mount, and show the map-type cache the
// DMA path obeys, marked when it predates a change.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canMount, describeMount, mountTopology, p2pemu, sh, type Mount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
});
afterAll(() => m?.unmount());

const explain = () => p2pemu('explain', '--mount', m.mnt, 'nvme0', 'nvme1');
const resultLine = (out: string) => /^result: .*$/m.exec(out)?.[0];
const cacheLine = (out: string) => out.split('\n')[out.split('\n').findIndex((l) => l.startsWith('map-type cache')) + 1]?.trim();

describeMount('explain, topo --matrix and status on a live mount', () => {
  test('explain --mount changes its answer after setpci on the mount; the cache DMA still uses is marked as computed before the change', () => {
    const before = explain();
    expect(resultLine(before.stdout)).toBe(`result: BUS_ADDR, distance 4 (live on ${m.mnt})`);
    expect(cacheLine(before.stdout)).toMatch(/^nothing cached yet/);
    // one O_DIRECT read from nvme0 into nvme1's CMB: the DMA path computes and caches the pair
    const io = sh(`python3 - <<'PY'
import mmap, os
buf = mmap.mmap(os.open('${m.sysfs}/devices/0000:04:00.0/p2pmem/allocate', os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
buf[0] = 0
print(os.preadv(os.open('${m.mnt}/dev/nvme0n1', os.O_RDONLY | os.O_DIRECT), [buf], 0))
PY`);
    expect(io.stdout).toBe(`${1 << 20}\n`);
    expect(cacheLine(explain().stdout)).toBe('BUS_ADDR, computed from the paths as they are now');
    // ACS redirect on nvme0's switch port, the way an admin does it
    expect(sh(`setpci -A linux-sysfs -O sysfs.path=${m.sysfs} -s 02:00.0 ECAP_ACS+6.w=0x1d`).code).toBe(0);
    const after = explain();
    expect(resultLine(after.stdout)).toBe(`result: NOT_SUPPORTED, distance 4 (live on ${m.mnt})`);
    expect(after.stdout).toContain('ACS: redirect (RR, CR or EC) set on 0000:02:00.0');
    expect(cacheLine(after.stdout)).toBe("BUS_ADDR, computed before these paths changed and never invalidated: DMA keeps using it until nvme1's driver is rebound; computed now it would be NOT_SUPPORTED");
    // the offline answer never changed: it describes the topology file
    expect(resultLine(p2pemu('explain', 'nvme0', 'nvme1').stdout)).toBe('result: BUS_ADDR, distance 4');
  });

  test('topo --matrix --mount shows the cached answer DMA uses, starred; the offline matrix does not know', () => {
    const live = p2pemu('topo', '--matrix', '--mount', m.mnt).stdout;
    expect(live).toMatch(/^nvme0 03:00\.0\s+BUS\(0\)\s+BUS\(4\)\*\s+NO\(4\)\s+NO\(6\)$/m);
    expect(live).toMatch(/^\*\s+cached before its path changed/m);
    expect(p2pemu('topo', '--matrix').stdout).toMatch(/^nvme0 03:00\.0\s+BUS\(0\)\s+BUS\(4\)\s+NO\(4\)\s+NO\(6\)$/m);
  });

  test('status --mount shows what the daemon moved', () => {
    const out = p2pemu('status', '--mount', m.mnt).stdout;
    expect(out).toMatch(/^\s+0000:03:00\.0\s+0000:04:00\.0\s+p2p-switch\s+\d+\s+0\s+1048576$/m);
  });

  test('after remove on the mount, explain --mount no longer finds the provider (exit 2); topo, dmabuf and report --mount describe the machine without it', () => {
    sh(`echo 1 > '${m.sysfs}/devices/0000:04:00.0/remove'`);
    const r = explain();
    expect([r.code, r.stderr.trim()]).toEqual([2, `p2pemu: no device "nvme1" on ${m.mnt} (removed, or never there; see p2pemu topo --mount ${m.mnt})`]);
    expect(p2pemu('topo', '--mount', m.mnt).stdout).not.toContain('04:00.0');
    expect(p2pemu('topo').stdout).toContain('04:00.0 nvme1');
    // dmabuf exports nothing on the live machine: it reports on a copy
    const before = sh(`cat '${m.mnt}/sys/kernel/debug/p2pemu/dmabufs'`).stdout;
    expect(p2pemu('dmabuf', '--mount', m.mnt).stdout).not.toMatch(/^nvme1 /m);
    expect(p2pemu('dmabuf').stdout).toMatch(/^nvme1 /m);
    expect(sh(`cat '${m.mnt}/sys/kernel/debug/p2pemu/dmabufs'`).stdout).toBe(before);
    const report = p2pemu('report', '--mount', m.mnt, '--no-calibration').stdout;
    expect(report).toMatch(/^0000:03:00\.0\s+nvme0\s/m);
    expect(report).not.toMatch(/^0000:04:00\.0\s+nvme1\s/m);
  });
});

describe('asking a mount: bad input', () => {
  test('--topology with --mount contradict each other (exit 2); --mount of a directory that is no mount is one line', () => {
    const both = p2pemu('explain', '--topology', '/nonexistent.yaml', '--mount', '/tmp', 'a', 'b');
    expect([both.code, both.stderr.trim()]).toEqual([2, 'p2pemu: --topology and --mount/--live contradict each other: a live mount answers with the machine it runs']);
    const none = p2pemu('topo', '--mount', '/tmp');
    expect([none.code, none.stderr.trim()]).toEqual([1, 'p2pemu: /tmp is not a p2pemu mount (no daemon record for it)']);
  });
});
