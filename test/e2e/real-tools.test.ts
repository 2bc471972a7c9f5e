// Unmodified real tools at the real paths, under `p2pemu run`: lspci without
// -A, lsblk, nvme-cli, hwloc's lstopo, fio with P2P memory, a P2P copy by
// /dev and /sys paths; run's own contract (exit code, a shell, the rest of the
// host untouched, mounting and unmounting a topology for the command).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isRoot, mountTopology, p2pemu, ROOT, sh, tempDir, type Mount } from './helpers.js';

let m: Mount;
let bin: string;
beforeAll(() => {
  if (!isRoot) return;
  m = mountTopology();
  bin = tempDir('p2pemu-real-tools-');
  const r = sh(`gcc -O2 -pthread -o '${bin}/tool-copy' '${ROOT}/test/e2e/c/tool-copy.c' && gcc -shared -fPIC -O2 -o '${bin}/fake-devnode.so' '${ROOT}/test/e2e/c/fake-devnode.c' -ldl`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => m?.unmount());

/** A command line run inside the emulated host (sh -c). */
const run = (script: string, input?: string) => {
  const r = sh(`node '${join(ROOT, 'bin/p2pemu.js')}' run --mount '${m.mnt}' -- sh -c ${JSON.stringify(script)}`, { input });
  return r;
};
const ALLOCATE = (bdf: string) => `/sys/bus/pci/devices/${bdf}/p2pmem/allocate`;

// the read-only tools run once, in one namespace; each test reads its section
const TOOLS: Record<string, string> = {
  tree: 'lspci -tv',
  vvv: 'lspci -vvv -s 03:00.0',
  lsblk: 'lsblk -d -n -o NAME,MAJ:MIN,SIZE,TYPE',
  nvmeVerbose: 'nvme list -v',
  nvmeList: 'nvme list',
  nvmeListBlk: 'LD_PRELOAD=SHIM nvme list',
  lstopo: 'lstopo --of console',
  lstopoWhole: 'lstopo --of console --whole-system',
};
const out: Record<string, string> = {};

describe.skipIf(!isRoot)('lspci, lsblk, nvme-cli and lstopo at the real paths', () => {
  beforeAll(() => {
    const script = Object.entries(TOOLS)
      .map(([k, cmd]) => `echo '@@${k}'; ${cmd.replace('SHIM', `${bin}/fake-devnode.so`)} 2>/dev/null`)
      .join('; ');
    const all = run(script).stdout;
    for (const part of all.split(/^@@/m).filter(Boolean)) {
      const nl = part.indexOf('\n');
      out[part.slice(0, nl)] = part.slice(nl + 1);
    }
  });

  test('lspci -tv and lspci -vvv read /sys/bus/pci without -A', () => {
    expect(out.tree).toContain('+-01.0-[01-05]----00.0-[02-05]--+-00.0-[03]----00.0  Samsung Electronics Co Ltd NVMe SSD Controller PM173X');
    expect(out.tree).toMatch(/\\-\[0000:80\]-\+-00\.0/);
    expect(out.vvv).toMatch(/Physical Slot: \d+/);
    expect(out.vvv).toContain('MSI-X: Enable+ Count=64 Masked-');
    expect(out.vvv).toContain('Kernel driver in use: nvme');
  });

  test('lsblk lists the namespaces with their sizes, and only them', () => {
    expect(out.lsblk!.split('\n').filter(Boolean).map((l) => l.split(/\s+/))).toEqual([
      ['nvme0n1', '259:0', '1G', 'disk'],
      ['nvme1n1', '259:1', '1G', 'disk'],
      ['nvme2n1', '259:2', '1G', 'disk'],
    ]);
  });

  test('nvme list -v shows the subsystems and controllers (serial, model, firmware, address) from sysfs', () => {
    expect(out.nvmeVerbose).toMatch(/^nvme-subsys0\s+nqn\.2014-08\.dev\.p2pemu:nvme:P2PEMU000NVME0\s+nvme0$/m);
    expect(out.nvmeVerbose).toMatch(/^nvme0\s+P2PEMU000NVME0\s+SAMSUNG MZWLJ1T9HBJR-00007\s+P2PEMU01 pcie\s+0000:03:00\.0\s+nvme-subsys0/m);
  });

  // libnvme's nvme_open() fstat()s /dev/nvmeXnY and wants S_ISBLK: a regular file over FUSE is
  // skipped, so plain `nvme list` prints its header only (README: Real tools). With an fstat
  // shim standing in for run's planned supervisor, every other step works.
  test('nvme list: namespaces with model, serial and size once fstat says block device (the one gap left)', () => {
    expect(out.nvmeList!.trim().split('\n')).toHaveLength(2);
    expect(out.nvmeListBlk).toMatch(/^\/dev\/nvme0n1\s+\/dev\/ng0n1\s+P2PEMU000NVME0\s+SAMSUNG MZWLJ1T9HBJR-00007\s+1\s+1\.07\s+GB \/\s+1\.07\s+GB\s+512\s+B \+\s+0 B\s+P2PEMU01$/m);
    expect(out.nvmeListBlk!.match(/^\/dev\/nvme\dn1/gm)).toHaveLength(3);
  });

  test('lstopo shows the NVMe disks under NUMA node 0; node 1 and the accelerator with --whole-system', () => {
    expect(out.lstopo).toMatch(/NUMANode L#0 \(P#0 16GB\)[\s\S]*PCI 03:00\.0 \(NVMExp\)\n\s+Block\(Disk\) "nvme0n1"/);
    // this machine's cgroup allows only its own CPUs: hwloc hides what it disallows, as on real hardware
    expect(out.lstopoWhole).toMatch(/Package L#1\n\s+NUMANode L#1 \(P#1 16GB\)[\s\S]*PCI 81:00\.0 \(3D\)/);
    expect(out.lstopoWhole).not.toContain('Net "eth0"');
  });
});

describe.skipIf(!isRoot)('P2P I/O by real paths', () => {
  test('fio O_DIRECT on /dev/nvme0n1 into --mem=mmapshared:…/p2pmem/allocate moves its bytes switch-local', () => {
    const row = () => Number(/^0000:03:00\.0\s+0000:04:00\.0\s+p2p-switch\s+\d+\s+\d+\s+(\d+)$/m.exec(readFileSync(`${m.mnt}/sys/kernel/debug/p2pemu/transfers`, 'utf8'))?.[1] ?? 0);
    const before = row();
    const r = run(`fio --name=p2p --filename=/dev/nvme0n1 --direct=1 --rw=read --bs=1M --size=8M --ioengine=psync --mem=mmapshared:${ALLOCATE('0000:04:00.0')} --output-format=terse`);
    expect(r.code).toBe(0);
    expect(row() - before).toBe(8 << 20);
  });

  test('the tool-style copy by /dev/nvme0n1, /dev/nvme1n1 and /sys/bus/pci/devices/…/p2pmem/allocate is verified; behind another host bridge EREMOTEIO', () => {
    run('head -c 4194304 /dev/urandom | dd of=/dev/nvme0n1 bs=1M iflag=fullblock oflag=direct status=none');
    expect(run(`'${bin}/tool-copy' /dev/nvme0n1 /dev/nvme1n1 ${ALLOCATE('0000:04:00.0')} 4`).stdout).toMatch(/verified/);
    const refused = run(`'${bin}/tool-copy' /dev/nvme0n1 /dev/nvme1n1 ${ALLOCATE('0000:81:00.0')} 4`);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('Remote I/O error');
  });
});

describe.skipIf(!isRoot)('p2pemu run itself', () => {
  test("CMD's exit code is run's; the rest of the host is untouched (proc, /sys/fs, /sys/class/net/lo, /tmp)", () => {
    const r = run(`test -d /proc/1 && test -d /sys/fs/cgroup && test -e /sys/class/net/lo && test -d '${m.mnt}' && exit 7`);
    expect(r.code).toBe(7);
    // outside, nothing changed
    expect(sh('ls /sys/bus/pci/devices').stdout).not.toContain('0000:81:00.0');
  });

  test('p2pemu run -- bash is a shell inside the emulated host', () => {
    const r = sh(`node '${join(ROOT, 'bin/p2pemu.js')}' run --mount '${m.mnt}' -- bash`, { input: 'ls /dev | grep -c "^nvme.n1$"; exit 5\n' });
    expect(r.stdout).toBe('3\n');
    expect(r.code).toBe(5);
  });

  test('without --mount the topology is mounted for the command and unmounted after', () => {
    const r = p2pemu('run', '--', 'sh', '-c', 'ls /sys/bus/pci/devices | wc -l; grep -o "[^ ]*p2pemu-run-[^ ]*/mnt" /proc/self/mounts');
    const [count, mnt] = r.stdout.trim().split('\n');
    expect(count).toBe('16');
    expect(mnt).toMatch(/p2pemu-run-/);
    expect(r.code).toBe(0);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(mnt);
  });

  test('bad usage: no command is exit 2, a directory that is not a mount a clear error', () => {
    expect(p2pemu('run', '--mount', m.mnt).code).toBe(2);
    const r = p2pemu('run', '--mount', '/tmp', '--', 'true');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/tmp is not a p2pemu mount');
  });
});
