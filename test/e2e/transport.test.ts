// mount --transport: FUSE over io_uring (a ring per CPU) against /dev/fuse,
// and the fallback where io_uring is not allowed. The whole e2e suite also
// runs over io_uring with P2PEMU_TRANSPORT=uring (native-notes/fuse-session.md).

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canMount, CLI, compileC, describeMount, LSPCI, mounted, mountTopology, RUN_DIR, sh, tempDir, type Mount } from './helpers.js';

const uringAllowed = (() => {
  try {
    return readFileSync('/sys/module/fuse/parameters/enable_uring', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
})();

/** io_uring instances the daemon holds open. */
function rings(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[io_uring]';
    } catch {
      return false;
    }
  }).length;
}

const possibleCpus = () => Number(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(/[-,]/).pop()) + 1;
const daemonLog = (m: Mount) => readFileSync(join(m.state, 'daemon.log'), 'utf8');

(uringAllowed ? describeMount : describe.skip)('mount --transport uring', () => {
  let m: Mount;
  let copyBin: string;
  beforeAll(() => {
    if (!canMount()) return;
    m = mountTopology(undefined, ['--transport', 'uring']);
    copyBin = compileC('scripts/examples/p2p-copy.c');
  });
  afterAll(() => m?.unmount());
  const dev = (name: string) => `${m.mnt}/dev/${name}`;
  const allocate = (bdf: string) => `${m.sysfs}/devices/${bdf}/p2pmem/allocate`;

  test('the daemon serves over one io_uring per CPU and says so in its log', () => {
    expect(rings(m.pid)).toBe(possibleCpus());
    expect(daemonLog(m)).toContain('serving FUSE over io_uring');
  });

  test('lspci -vvv reads the tree; attributes read and write with the kernel\'s answers', () => {
    expect(LSPCI(m, '-vvv -s 03:00.0')).toMatch(/Non-Volatile memory controller[\s\S]*Region 0: Memory at/);
    expect(sh(`cat '${m.sysfs}/devices/0000:03:00.0/vendor'`).stdout).toBe('0x144d\n');
    expect(sh(`(echo 1 > '${m.sysfs}/devices/0000:03:00.0/vendor') 2>&1`).stdout).toContain('Permission denied');
    // enable_store(): a device with a driver bound refuses with EBUSY
    expect(sh(`(echo 1 > '${m.sysfs}/devices/0000:03:00.0/enable') 2>&1`).stdout).toContain('Device or resource busy');
  });

  test('O_DIRECT 1 MiB and 4 KiB round trips through a namespace keep every byte; the BAR maps', () => {
    const r = sh(`set -e
      f=$(mktemp); head -c 4194304 /dev/urandom > $f
      dd if=$f of='${dev('nvme2n1')}' bs=1M oflag=direct status=none
      a=$(sha256sum < $f); b=$(dd if='${dev('nvme2n1')}' bs=4k count=1024 iflag=direct status=none | sha256sum)
      rm -f $f; [ "$a" = "$b" ] && echo same`);
    expect(r.stdout.trim()).toBe('same');
    const bar = sh(`python3 -c "import mmap,os; fd=os.open('${m.sysfs}/devices/0000:03:00.0/resource0', os.O_RDWR); b=mmap.mmap(fd, 4096); print(b[0x38:0x3c].hex())"`);
    expect(bar.stdout).toBe('02000000\n');
  });

  test('1 MiB O_DIRECT writes and reads by 4 processes at once keep every byte (each call two 512 KiB requests on one ring)', () => {
    // each process its own 4 MiB of nvme2n1, all four in flight together, then read back together
    const r = sh(`set -e
      d=$(mktemp -d)
      for i in 0 1 2 3; do head -c 4194304 /dev/urandom > $d/$i; done
      for i in 0 1 2 3; do dd if=$d/$i of='${dev('nvme2n1')}' bs=1M seek=$((i * 4)) oflag=direct conv=notrunc status=none & done; wait
      for i in 0 1 2 3; do dd if='${dev('nvme2n1')}' of=$d/$i.back bs=1M skip=$((i * 4)) count=4 iflag=direct status=none & done; wait
      for i in 0 1 2 3; do cmp $d/$i $d/$i.back; done
      rm -rf $d; echo same`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('same');
  });

  test('the P2P copy through a CMB is verified where allowed and refused with EREMOTEIO where not', () => {
    sh(`head -c 4194304 /dev/urandom | dd of='${dev('nvme0n1')}' bs=1M iflag=fullblock oflag=direct status=none`);
    const ok = sh(`'${copyBin}' '${dev('nvme0n1')}' '${dev('nvme1n1')}' '${allocate('0000:04:00.0')}' 4`);
    expect(ok.stdout).toMatch(/copied 4 MiB .* verified$/m);
    const refused = sh(`'${copyBin}' '${dev('nvme0n1')}' '${dev('nvme2n1')}' '${allocate('0000:04:00.0')}' 2`);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('Remote I/O error');
  });

  test('unmount leaves no mount and no daemon', async () => {
    const pid = m.pid;
    m.unmount();
    expect(mounted(m.mnt)).toBe(false);
    for (const end = Date.now() + 10_000; Date.now() < end && existsPid(pid); ) await new Promise((r) => setTimeout(r, 50));
    expect(existsPid(pid)).toBe(false);
  });
});

function existsPid(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

describeMount('mount --transport devfuse and the fallback', () => {
  test('--transport devfuse serves over /dev/fuse alone', () => {
    const m = mountTopology(undefined, ['--transport', 'devfuse']);
    try {
      expect(rings(m.pid)).toBe(0);
      expect(sh(`cat '${m.sysfs}/devices/0000:03:00.0/vendor'`).stdout).toBe('0x144d\n');
      expect(daemonLog(m)).not.toContain('io_uring');
    } finally {
      m.unmount();
    }
  });

  /** A mount where io_uring is not allowed, through the daemon's test switch: ring setup fails, or INIT does not offer it (enable_uring off). */
  const mountWithoutUring = (transport: string, how: 'setup' | 'init') => {
    const mnt = tempDir('p2pemu-mnt-');
    const state = tempDir('p2pemu-state-');
    const env = { ...process.env, P2PEMU_RUN_DIR: RUN_DIR, P2PEMU_TEST_URING_UNAVAILABLE: how };
    const r = spawnSync(process.execPath, [CLI, 'mount', mnt, '--state', state, '--transport', transport], { encoding: 'utf8', env, timeout: 60_000 });
    return { r, mnt, state, pid: Number(/daemon pid (\d+)/.exec(r.stdout)?.[1]) };
  };

  describe.each([
    ['io_uring cannot be set up', 'setup', /cannot set up io_uring/],
    ['INIT does not offer FUSE over io_uring', 'init', /the kernel did not offer FUSE_OVER_IO_URING in INIT/],
  ] as const)('where %s', (_, how, reason) => {
    test('--transport auto: one info line in the log, served over /dev/fuse', () => {
      const { r, mnt, state, pid } = mountWithoutUring('auto', how);
      try {
        expect(r.status).toBe(0);
        expect(rings(pid)).toBe(0);
        expect(sh(`cat '${mnt}/sys/bus/pci/devices/0000:03:00.0/vendor'`).stdout).toBe('0x144d\n');
        const lines = readFileSync(join(state, 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes('io_uring'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/"level":30.*FUSE over io_uring not available.*using \/dev\/fuse/);
      } finally {
        if (mounted(mnt)) spawnSync(process.execPath, [CLI, 'unmount', mnt], { env: { ...process.env, P2PEMU_RUN_DIR: RUN_DIR }, timeout: 30_000 });
        if (mounted(mnt)) sh(`umount -l '${mnt}'`);
      }
    });

    test('--transport uring: a one-line error, exit 1, nothing left mounted', () => {
      const { r, mnt } = mountWithoutUring('uring', how);
      const wasMounted = mounted(mnt);
      if (wasMounted) sh(`umount -l '${mnt}'`);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
      expect(r.stderr).toContain('--transport uring');
      expect(wasMounted).toBe(false);
    });
  });

  test('--transport with an unknown name is a usage error (exit 2)', () => {
    const r = spawnSync(process.execPath, [CLI, 'mount', '/tmp', '--transport', 'pipe'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--transport must be one of: auto, uring, devfuse');
  });
});
