// Unmodified real tools at the real paths, under `p2pemu run`: lspci without
// -A, lsblk, nvme-cli, udevadm, hwloc's lstopo, fio with P2P memory, a P2P copy
// by /dev and /sys paths; run's own contract (exit code, a shell, the rest of
// the host untouched, mounting and unmounting a topology for the command).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountTopology, p2pemu, ROOT, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let bin: string;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  bin = tempDir('p2pemu-real-tools-');
  const r = sh(`gcc -O2 -pthread -o '${bin}/tool-copy' '${ROOT}/test/e2e/c/tool-copy.c'`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => m?.unmount());

/** A command line run inside the emulated host (sh -c; single-quoted, so $ expands inside). */
const run = (script: string, input?: string) => sh(`node '${join(ROOT, 'bin/p2pemu.js')}' run --mount '${m.mnt}' -- sh -c '${script.replace(/'/g, `'\\''`)}'`, { input });
const ALLOCATE = (bdf: string) => `/sys/bus/pci/devices/${bdf}/p2pmem/allocate`;

// the read-only tools run once, in one namespace; each test reads its section
const TOOLS: Record<string, string> = {
  tree: 'lspci -tv',
  vvv: 'lspci -vvv -s 03:00.0',
  lsblk: 'lsblk -d -n -o NAME,MAJ:MIN,SIZE,TYPE',
  lsblkNode: 'lsblk -n -o NAME,MAJ:MIN,TYPE /dev/nvme0n1',
  nvmeVerbose: 'nvme list -v',
  nvmeList: 'nvme list',
  idCtrl: 'nvme id-ctrl /dev/nvme1',
  idNs: 'nvme id-ns /dev/nvme0n1',
  smart: 'nvme smart-log /dev/nvme0',
  regs: 'for c in nvme0 nvme2; do nvme show-regs /dev/$c; echo "sysfs $(cat /sys/class/nvme/$c/cmbloc /sys/class/nvme/$c/cmbsz 2>/dev/null | tr "\\n" " ")"; done',
  udevBlock: 'udevadm info /sys/block/nvme0n1',
  udevPci: 'udevadm info /sys/bus/pci/devices/0000:03:00.0',
  statfs: 'stat -f -c "%n %T" /sys /sys/bus/pci/devices /sys/block/nvme0n1/ /dev/nvme0n1',
  lstopo: 'lstopo --of console',
  lstopoWhole: 'lstopo --of console --whole-system',
};
const out: Record<string, string> = {};

describeMount('lspci, lsblk, nvme-cli, udevadm and lstopo at the real paths', () => {
  beforeAll(() => {
    const script = Object.entries(TOOLS)
      .map(([k, cmd]) => `echo '@@${k}'; ${cmd} 2>&1`)
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

  test('lsblk lists the namespaces with their sizes, and only them; lsblk /dev/nvme0n1 takes the node', () => {
    expect(out.lsblk!.split('\n').filter(Boolean).map((l) => l.split(/\s+/))).toEqual([
      ['nvme0n1', '259:0', '1G', 'disk'],
      ['nvme1n1', '259:1', '1G', 'disk'],
      ['nvme2n1', '259:2', '1G', 'disk'],
    ]);
    expect(out.lsblkNode!.trim().split(/\s+/)).toEqual(['nvme0n1', '259:0', 'disk']);
  });

  test('nvme list -v shows the subsystems and controllers (serial, model, firmware, address) from sysfs', () => {
    expect(out.nvmeVerbose).toMatch(/^nvme-subsys0\s+nqn\.2014-08\.dev\.p2pemu:nvme:P2PEMU000NVME0\s+nvme0$/m);
    expect(out.nvmeVerbose).toMatch(/^nvme0\s+P2PEMU000NVME0\s+SAMSUNG MZWLJ1T9HBJR-00007\s+P2PEMU01 pcie\s+0000:03:00\.0\s+nvme-subsys0/m);
  });

  // libnvme's nvme_open() and nvme-cli's open_dev_direct() fstat the node and want S_ISBLK / S_ISCHR:
  // run's supervisor answers that fstat as the kernel would for the device node
  test('nvme list: every namespace with model, serial, size and format', () => {
    expect(out.nvmeList).toMatch(/^\/dev\/nvme0n1\s+\/dev\/ng0n1\s+P2PEMU000NVME0\s+SAMSUNG MZWLJ1T9HBJR-00007\s+1\s+1\.07\s+GB \/\s+1\.07\s+GB\s+512\s+B \+\s+0 B\s+P2PEMU01$/m);
    expect(out.nvmeList!.match(/^\/dev\/nvme\dn1/gm)).toHaveLength(3);
  });

  test('nvme id-ctrl, id-ns and smart-log answer through /dev/nvme1 and /dev/nvme0n1 with the topology\'s serial and model', () => {
    expect(out.idCtrl).toMatch(/^sn\s+: P2PEMU000NVME1\s*$/m);
    expect(out.idCtrl).toMatch(/^mn\s+: SAMSUNG MZWLJ1T9HBJR-00007\s*$/m);
    expect(out.idCtrl).toMatch(/^fr\s+: P2PEMU01\s*$/m);
    // 1 GiB of 512-byte blocks
    expect(out.idNs).toMatch(/^nsze\s+: 0x200000$/m);
    expect(out.idNs).toMatch(/^lbaf\s+0 : ms:0\s+lbads:9\s+rp:0x2 \(in use\)$/m);
    expect(out.smart).toMatch(/^temperature\s+: 40°C \(313 Kelvin\)$/m);
    expect(out.smart).toMatch(/^available_spare\s+: 100%$/m);
  });

  // nvme-cli maps BAR0 through the controller's device/resource0 (mmap_registers(), one page, read-only)
  test('nvme show-regs reads CAP, CMBLOC and CMBSZ from BAR0: CMBLOC/CMBSZ equal sysfs cmbloc/cmbsz, CAP.CMBS only with a CMB', () => {
    const [withCmb, without] = out.regs!.split(/^sysfs.*$/m);
    const reg = (text: string, name: string) => BigInt(`0x${new RegExp(`^${name}\\s*: ([0-9a-f]+)$`, 'm').exec(text)![1]}`);
    const sysfs = out.regs!.match(/^sysfs (.*)$/gm)!.map((l) => l.slice(6).trim());
    const [cmbloc, cmbsz] = sysfs[0]!.split(' ').map(BigInt);
    expect(reg(withCmb!, 'cmbloc')).toBe(cmbloc);
    expect(reg(withCmb!, 'cmbsz')).toBe(cmbsz);
    expect(cmbsz).not.toBe(0n);
    expect((reg(withCmb!, 'cap') >> 57n) & 1n).toBe(1n);
    expect(sysfs[1]).toBe('');
    expect(reg(without!, 'cmbsz')).toBe(0n);
    expect((reg(without!, 'cap') >> 57n) & 1n).toBe(0n);
  });

  // systemd's sd_device_new_from_syspath() fstatfs()es the device directory and wants SYSFS_MAGIC
  test('udevadm info prints the properties of /sys/block/nvme0n1 and of the PCI function', () => {
    expect(out.udevBlock).toContain('P: /devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0/nvme/nvme0/nvme0n1');
    expect(out.udevBlock).toMatch(/^E: SUBSYSTEM=block$/m);
    expect(out.udevBlock).toMatch(/^E: DEVNAME=\/dev\/nvme0n1$/m);
    expect(out.udevBlock).toMatch(/^E: MAJOR=259$/m);
    expect(out.udevPci).toMatch(/^E: PCI_SLOT_NAME=0000:03:00\.0$/m);
    expect(out.udevPci).toMatch(/^E: DRIVER=nvme$/m);
    expect(out.udevPci).toMatch(/^E: PCI_ID=144D:A824$/m);
  });

  test('statfs says sysfs for /sys and the emulated subtrees, tmpfs for a device node in /dev', () => {
    expect(out.statfs!.trim().split('\n')).toEqual(['/sys sysfs', '/sys/bus/pci/devices sysfs', '/sys/block/nvme0n1/ sysfs', '/dev/nvme0n1 tmpfs']);
  });

  test('lstopo shows the NVMe disks under NUMA node 0; node 1 and the accelerator with --whole-system', () => {
    expect(out.lstopo).toMatch(/NUMANode L#0 \(P#0 16GB\)[\s\S]*PCI 03:00\.0 \(NVMExp\)\n\s+Block\(Disk\) "nvme0n1"/);
    // this machine's cgroup allows only its own CPUs: hwloc hides what it disallows, as on real hardware
    expect(out.lstopoWhole).toMatch(/Package L#1\n\s+NUMANode L#1 \(P#1 16GB\)[\s\S]*PCI 81:00\.0 \(3D\)/);
    expect(out.lstopoWhole).not.toContain('Net "eth0"');
  });
});

describeMount('P2P I/O by real paths', () => {
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

describeMount('p2pemu run itself', () => {
  test("CMD's exit code is run's; the rest of the host is untouched (proc, /sys/fs, /sys/class/net/lo, /tmp)", () => {
    const r = run(`test -d /proc/1 && test -d /sys/fs/cgroup && test -e /sys/class/net/lo && test -d '${m.mnt}' && exit 7`);
    expect(r.code).toBe(7);
    // killed by a signal: 128 + the signal, as a shell reports it
    expect(run('kill -TERM $$').code).toBe(143);
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
