// NVMe passthrough ioctls from a compiled C program (the structs libnvme
// sends), and what the driver does when the command register stops a
// controller's DMA.

import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LSPCI, mountTopology, ROOT, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let tool: string;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  tool = join(tempDir('p2pemu-passthru-'), 'nvme-passthru');
  const r = sh(`gcc -O2 -o '${tool}' '${ROOT}/test/e2e/c/nvme-passthru.c'`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => m?.unmount());

const dev = (n: string) => `${m.mnt}/dev/${n}`;
const allocate = (bdf: string) => `${m.mnt}/sys/bus/pci/devices/${bdf}/p2pmem/allocate`;
const kmsg = () => sh(`cat '${m.mnt}/dev/kmsg'`).stdout;

describeMount('admin passthrough: Identify, Get Log Page, Get Features', () => {
  test.each(['nvme0n1', 'nvme0', 'ng0n1'])('on /dev/%s: the controller and namespace identify themselves, logs and features answer', (name) => {
    const out = sh(`'${tool}' info '${dev(name)}'`).stdout;
    expect(out).toContain(`nsid ${name === 'nvme0' ? -1 : 1}\n`);
    expect(out).toContain("identify ctrl: status 0 vid 144d sn 'P2PEMU000NVME0      ' mn 'SAMSUNG MZWLJ1T9HBJR-00007              ' fr 'P2PEMU01' mdts 9 nn 1 subnqn 'nqn.2014-08.dev.p2pemu:nvme:P2PEMU000NVME0'");
    expect(out).toContain('identify ns: status 0 nsze 2097152 nlbaf 2 flbas 0 lbads 9\n');
    // Invalid Namespace or Format with Do Not Retry
    expect(out).toContain('identify ns 0: status 0x400b\n');
    expect(out).toContain('smart: status 0 temperature 313 spare 100 power cycles 1\n');
    expect(out).toContain('error log: status 0 first entry zero 1\n');
    expect(out).toContain('features number of queues: status 0 result 0x00030003\n');
    expect(out).toContain('features volatile write cache: status 0 result 1\n');
    expect(out).toContain('vendor opcode: status 0x4001\n');
  });

  test('the serial, model and firmware in sysfs are the Identify fields', () => {
    const out = sh(`'${tool}' info '${dev('nvme1n1')}'`).stdout;
    const mn = /mn '([^']*)'/.exec(out)![1];
    expect(sh(`cat '${m.mnt}/sys/class/nvme/nvme1/model'`).stdout).toBe(`${mn}\n`);
  });
});

describeMount('NVME_IOCTL_IO_CMD goes through the same P2P decisions as O_DIRECT', () => {
  test('read into host memory, write back out: data verified; a command naming another nsid is EINVAL', () => {
    sh(`head -c 2097152 /dev/urandom | dd of='${dev('nvme0n1')}' bs=1M oflag=direct status=none`);
    const r = sh(`'${tool}' copy '${dev('nvme0n1')}' '${dev('nvme1n1')}' - 2`);
    expect(r.stdout).toBe('copied 2 MiB, verified; wrong nsid: Invalid argument\n');
  });

  test('into the CMB of nvme1 (switch-local), mapped but never touched: verified and counted as p2p-switch', () => {
    const r = sh(`'${tool}' copy '${dev('nvme0n1')}' '${dev('nvme1n1')}' '${allocate('0000:04:00.0')}' 2`);
    expect(r.stdout).toMatch(/^copied 2 MiB, verified/);
    expect(sh(`cat '${m.mnt}/sys/kernel/debug/p2pemu/transfers'`).stdout).toMatch(/^0000:03:00\.0\s+0000:04:00\.0\s+p2p-switch\s+\d+\s+\d+\s+2097152$/m);
  });

  test('into accelerator memory behind another host bridge: EREMOTEIO, counted as refused', () => {
    const r = sh(`'${tool}' copy '${dev('nvme0n1')}' '${dev('nvme1n1')}' '${allocate('0000:81:00.0')}' 1`);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Remote I/O error');
    expect(sh(`cat '${m.mnt}/sys/kernel/debug/p2pemu/transfers'`).stdout).toMatch(/^0000:03:00\.0\s+0000:81:00\.0\s+refused/m);
  });
});

describeMount('the command register: Bus Master off stops the controller', () => {
  const clearBusMaster = () => sh(`printf '\\x02\\x04' | dd of='${m.mnt}/sys/bus/pci/devices/0000:06:00.0/config' bs=1 seek=4 conv=notrunc status=none`);

  test('block I/O times out, the driver aborts, resets the controller (Bus Master on again) and the read completes', () => {
    clearBusMaster();
    expect(LSPCI(m, '-vv -s 06:00.0')).toMatch(/BusMaster-/);
    const r = sh(`dd if='${dev('nvme2n1')}' of=/dev/null bs=4k count=1 iflag=direct status=none`);
    expect(r.code).toBe(0);
    const log = kmsg();
    expect(log).toMatch(/nvme nvme2: I\/O tag \d+ \(\d{4}\) opcode 0x2 \(Read\) QID 1 timeout, aborting req_op:READ\(0\) size:4096/);
    expect(log).toMatch(/nvme nvme2: I\/O tag \d+ \(\d{4}\) opcode 0x2 \(Read\) QID 1 timeout, reset controller/);
    expect(LSPCI(m, '-vv -s 06:00.0')).toMatch(/BusMaster\+/);
  });

  test('a passthrough command is cancelled by the reset: EINTR', () => {
    clearBusMaster();
    const r = sh(`'${tool}' copy '${dev('nvme2n1')}' '${dev('nvme2n1')}' - 1`);
    expect(r.code).toBe(4);
    expect(kmsg()).toMatch(/QID 1 timeout, aborting req_op:DRV_IN\(34\)/);
  });
});
