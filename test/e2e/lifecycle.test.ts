// Mount, unmount, signals, a killed daemon, bad topologies: what a user sees
// from the command line, and that nothing is left behind.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CLI, mounted, mountTopology, p2pemu, RUN_DIR, sh, tempDir, describeMount } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(sh(`cat /proc/${pid}/stat 2>/dev/null`).stdout);

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (cond()) return true;
  return cond();
}

describeMount('mount and unmount', () => {
  test('mount returns with the tree ready; status lists it; unmount leaves nothing behind', async () => {
    const m = mountTopology();
    try {
      expect(sh(`ls '${m.mnt}/sys/bus/pci/devices' | wc -l`).stdout.trim()).toBe('16');
      const status = JSON.parse(p2pemu('status', '--json').stdout) as { mountpoint: string; state: string; pid: number }[];
      expect(status.filter((s) => s.mountpoint === m.mnt)).toEqual([expect.objectContaining({ state: 'live', pid: m.pid })]);
      // BAR memory is anonymous (memfd): held by the daemon, named nowhere in /dev/shm
      expect(sh(`ls -l /proc/${m.pid}/fd | grep -c 'memfd:p2pemu:'`).stdout.trim()).not.toBe('0');
      expect(readdirSync('/dev/shm').filter((n) => n.startsWith(`p2pemu-${m.pid}`))).toEqual([]);

      const r = p2pemu('unmount', m.mnt);
      expect(r.code).toBe(0);
      expect(mounted(m.mnt)).toBe(false);
      expect(await until(() => !alive(m.pid))).toBe(true);
      expect(readdirSync(RUN_DIR)).toEqual([]);
      expect(p2pemu('status').stdout).not.toContain(m.mnt);
    } finally {
      m.unmount();
    }
  });

  test('SIGTERM to the daemon unmounts cleanly', async () => {
    const m = mountTopology();
    try {
      process.kill(m.pid, 'SIGTERM');
      expect(await until(() => !mounted(m.mnt) && !alive(m.pid))).toBe(true);
    } finally {
      m.unmount();
    }
  });

  test('--foreground serves until SIGINT, then unmounts and exits 0', async () => {
    const mnt = tempDir('p2pemu-fg-');
    const state = tempDir('p2pemu-fg-state-');
    const child = spawn(process.execPath, [CLI, 'mount', mnt, '--foreground', '--state', state, '--log-level', 'warn'], {
      stdio: 'ignore',
      env: { ...process.env, P2PEMU_RUN_DIR: RUN_DIR },
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      expect(await until(() => mounted(mnt) && existsSync(join(mnt, 'sys/bus/pci/devices/0000:03:00.0')))).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(mounted(mnt)).toBe(false);
    } finally {
      if (mounted(mnt)) sh(`umount -l '${mnt}'`);
      child.kill('SIGKILL');
      sh(`rm -rf '${mnt}' '${state}'`);
    }
  });

  test('a killed daemon leaves ENOTCONN; mount refuses with the fix; unmount recovers; mounting again works', async () => {
    const m = mountTopology();
    try {
      process.kill(m.pid, 'SIGKILL');
      expect(await until(() => !alive(m.pid))).toBe(true);
      // ENOTCONN, or ECONNABORTED for a request that was in flight when the daemon
      // died. Over io_uring the connection ends only once the kernel has torn the
      // dead daemon's rings down (deferred work): a request queued to a ring before
      // that ends with ECANCELED, so wait for the connection's end.
      const stale = /Transport endpoint is not connected|Software caused connection abort/;
      expect(await until(() => stale.test(sh(`ls '${m.mnt}' 2>&1`).stdout))).toBe(true);
      expect(p2pemu('status').stdout).toContain(`${m.mnt}  stale`);

      const again = p2pemu('mount', m.mnt, '--state', m.state);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/stale mount .* recover with: p2pemu unmount .*umount -l/);

      const rec = p2pemu('unmount', m.mnt);
      expect(rec.code).toBe(0);
      expect(rec.stdout).toContain('recovered stale mount');
      expect(mounted(m.mnt)).toBe(false);

      const fresh = p2pemu('mount', m.mnt, '--state', m.state);
      expect(fresh.code).toBe(0);
      expect(sh(`cat '${m.mnt}/sys/bus/pci/devices/0000:82:00.0/vendor'`).stdout).toBe('0x15b3\n');
      expect(p2pemu('unmount', m.mnt).code).toBe(0);
    } finally {
      m.unmount();
    }
  });

  test('mounting on a mount point that is already served is refused', () => {
    const m = mountTopology();
    try {
      const r = p2pemu('mount', m.mnt);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is already a p2pemu mount');
    } finally {
      m.unmount();
    }
  });

  test('unmount of something that is not a p2pemu mount says so', () => {
    const dir = tempDir('p2pemu-none-');
    const r = p2pemu('unmount', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`p2pemu: ${dir} is not a p2pemu mount\n`);
    sh(`rmdir '${dir}'`);
  });
});

describe('bad input', () => {
  // a bad topology: one line naming file, line and problem, exit 2, nothing mounted or created. Issue 9:
  // all but the first mounted, or exited 1 leaving the state dir and a daemon.log with a stack trace
  test.each([
    ['a CMB in a BAR that cannot exist', 'host_bridges:\n  - children:\n      - kind: root_port\n        children:\n          - kind: nvme\n            cmb: { size: 64MB, bar: 9 }\n', /:6:\d+: .*cmb\.bar: 9 is out of range/],
    ['a root port without slot', 'host_bridges:\n  - children:\n      - kind: root_port\n', /:3:9: host_bridges\[0\]\.children\[0\]\.slot: slot 00\.0 of a root bus/],
    ['bus 0x00 on a second host bridge', 'host_bridges:\n  - children: []\n  - bus: 0x00\n    children: []\n', /:3:10: host_bridges\[1\]\.bus: bus conflict/],
    ['a 1-byte CMB', 'host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children:\n          - kind: nvme\n            cmb: { size: 1B }\n', /:7:26: .*cmb\.size: /],
    ['64-bit BARs over 4 TiB', 'host_bridges:\n  - children:\n      - kind: accelerator\n        slot: "01.0"\n        bars: [{ index: 0, size: 8TiB }]\n', /:5:34: .*bars\[0\]\.size: BAR 0 \(8TiB\) does not fit/],
    ['a size too large', 'host_bridges:\n  - children:\n      - kind: accelerator\n        slot: "01.0"\n        bars: [{ index: 0, size: 1000000TiB }]\n', /:5:34: .*size "1000000TiB" is too large/],
    ['CPUs beyond NR_CPUS', 'numa: [{ node: 1, cpus: 8-200000000 }]\nhost_bridges:\n  - children: []\n', /:1:25: numa\[0\]\.cpus: CPU 200000000 is beyond NR_CPUS/],
    ['a CPU vendor the kernel does not know', 'cpu: { vendor: amd }\nhost_bridges:\n  - children: []\n', /:1:16: cpu\.vendor: unknown CPU vendor "amd" \(the kernel knows: "GenuineIntel", "AuthenticAMD"/],
  ])('mount with %s: exit 2, one positioned line, no state dir, not mounted', (_what, yaml, message) => {
    const dir = tempDir('p2pemu-bad-');
    const topo = join(dir, 't.yaml');
    writeFileSync(topo, yaml);
    const mnt = join(dir, 'mnt');
    sh(`mkdir '${mnt}'`);
    const state = join(dir, 'state');
    const r = p2pemu('mount', mnt, '--topology', topo, '--state', state);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^p2pemu: ${topo}${message.source}`));
    expect(mounted(mnt)).toBe(false);
    expect(existsSync(state)).toBe(false);
    sh(`rm -rf '${dir}'`);
  });

  test('a missing topology file is a one-line error with exit 2', () => {
    const r = p2pemu('topo', '--topology', '/nonexistent/t.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('p2pemu: /nonexistent/t.yaml: cannot read topology file (ENOENT)\n');
  });

  test('unknown options and commands are usage errors (exit 2)', () => {
    expect(p2pemu('mount', '/tmp', '--bogus').code).toBe(2);
    expect(p2pemu('frobnicate').code).toBe(2);
  });

  test.each(['mount', 'unmount', 'status', 'topo', 'dmesg', 'explain', 'report', 'scenario', 'hmm', 'dmabuf'])('p2pemu %s --help prints its usage', (cmd) => {
    const r = p2pemu(cmd, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: p2pemu ${cmd}`));
  });
});

describe('topo', () => {
  test('the tree names every device with BDF, bus range and ACS bits', () => {
    const out = p2pemu('topo').stdout;
    expect(out).toContain('0000:02:02.0 sw0p2  [1000:c010]  Switch Downstream Port  [bus 05-05]  ACS SV RR CR UF');
    expect(out).toContain('0000:81:00.0 accel0  [10de:2330]  accelerator  BAR0 16MiB, BAR1 32GiB, BAR3 32MiB');
  });

  test('--format json lists every function with its upstream bridge', () => {
    const j = JSON.parse(p2pemu('topo', '--format', 'json').stdout) as { devices: { bdf: string; upstream: string | null }[] };
    expect(j.devices).toHaveLength(16);
    expect(j.devices.find((d) => d.bdf === '0000:03:00.0')!.upstream).toBe('0000:02:00.0');
  });

  test('--format dot is a Graphviz digraph with an edge per link', () => {
    const out = p2pemu('topo', '--format', 'dot').stdout;
    expect(out).toMatch(/^digraph p2pemu \{/);
    expect(out).toContain('"0000:02:00.0" -> "0000:03:00.0";');
  });

  test('--dump-default prints YAML that mounts as the same topology', () => {
    const dir = tempDir('p2pemu-dump-');
    writeFileSync(join(dir, 't.yaml'), p2pemu('topo', '--dump-default').stdout);
    expect(p2pemu('topo', '--topology', join(dir, 't.yaml'), '--format', 'json').stdout.replace(/"file": "[^"]*"/, '')).toBe(
      p2pemu('topo', '--format', 'json').stdout.replace(/"file": "[^"]*"/, ''),
    );
    sh(`rm -rf '${dir}'`);
  });
});

describe('HMM and dma-buf from the command line', () => {
  test('hmm compare: exact page counts with and without HMM_PFN_ALLOW_P2P', () => {
    const out = p2pemu('hmm', 'compare', '--pages', '512').stdout;
    expect(out).toMatch(/mainline: migrate to RAM:\n {2}hmm_range_fault: 0 P2P alias\(es\) returned; hmm_dma_map_pfn: 0 DMA_MAPPING_ERROR\(s\); pages migrated to RAM 512/);
    expect(out).toMatch(/hmm-allow-p2p, driver fails on a map error \(mlx5 populate_mtt\):\n {2}hmm_range_fault: 512 P2P alias\(es\) returned; hmm_dma_map_pfn: 0 DMA_MAPPING_ERROR\(s\); pages migrated to RAM 0/);
  });

  // kernel: hmm_dma_map_pfn(), mm/hmm.c — the alias is refused at the DMA mapping, not in hmm_range_fault
  test('hmm compare with a client that cannot reach the BAR: aliases, then DMA_MAPPING_ERROR; EFAULT, or migration with the RFC\'s retry', () => {
    const out = p2pemu('hmm', 'compare', '--client', 'nvme2', '--pages', '64').stdout;
    expect(out).toMatch(/\(mlx5 populate_mtt\):\n {2}hmm_range_fault: 64 P2P alias\(es\) returned; hmm_dma_map_pfn: 64 DMA_MAPPING_ERROR\(s\); pages migrated to RAM 0\n {2}the NIC's page fault fails: EFAULT/);
    expect(out).toMatch(/\(RFC 4\/5\):\n {2}hmm_range_fault: 64 P2P alias\(es\) returned; hmm_dma_map_pfn: 64 DMA_MAPPING_ERROR\(s\); pages migrated to RAM 64/);
  });

  test('dmabuf: attach decisions, revoke on removal, page_pool bindings as devmem.c makes them', () => {
    const out = p2pemu('dmabuf').stdout;
    expect(out).toMatch(/^nvme1\s+→ nvme0\s+refused \(EOPNOTSUPP\)\s+\| refused \(EOPNOTSUPP\)\s+\| bar-bus-address/m);
    expect(out).toMatch(/^accel0\s+→ nic0\s+system-memory\s+\| system-memory\s+\| bar-cpu-physical/m);
    expect(out).toMatch(/removing accel0: move_notify reached/);
    // dma_buf_get() refuses an fd that is not a dma-buf; mp_dmabuf_devmem_init() refuses order > 0
    expect(out).toMatch(/device-private memory: refused \(EINVAL\)/);
    expect(out).toMatch(/order 1 on a binding: refused \(E2BIG\)/);
  });
});

describeMount('kernel log', () => {
  test('p2pemu dmesg prints the enumeration lines like dmesg; /dev/kmsg accepts injected lines', () => {
    const m = mountTopology();
    try {
      sh(`echo '<4>hello from a test' > '${m.mnt}/dev/kmsg'`);
      const out = p2pemu('dmesg', m.mnt).stdout;
      expect(out).toMatch(/^\[\s+\d+\.\d{6}\] PCI host bridge to bus 0000:00$/m);
      expect(out).toMatch(/\] pci 0000:00:01\.0: PCI bridge to \[bus 01-05\]$/m);
      expect(out).toMatch(/\] hello from a test$/m);
      expect(p2pemu('dmesg', m.mnt, '--level', '4').stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      m.unmount();
    }
  });
});
