import { describe, expect, test } from 'vitest';
import { realPathsPlan, type Entry, type Lister } from '../../src/cli/run/plan.js';

const dir = (name: string): Entry => ({ name, kind: 'dir', mode: 0o755, uid: 0, gid: 0, rdev: 0 });
const link = (name: string, target: string): Entry => ({ name, kind: 'link', target, mode: 0o777, uid: 0, gid: 0, rdev: 0 });
const chr = (name: string, rdev: number): Entry => ({ name, kind: 'chr', mode: 0o666, uid: 0, gid: 5, rdev });

function lister(tree: Record<string, Entry[]>): Lister {
  return (path) => tree[path];
}

const host = lister({
  H: [dir('bus'), dir('class'), dir('devices'), dir('fs'), dir('dev')],
  'H/bus': [dir('pci'), dir('usb')],
  'H/class': [dir('net'), dir('nvme')],
  'H/class/net': [link('lo', '../../devices/virtual/net/lo'), link('eth0', '../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0')],
  'H/devices': [dir('pci0000:00'), dir('virtual'), dir('system')],
  'H/devices/virtual': [dir('net')],
  'H/devices/system': [dir('cpu'), dir('clocksource')],
  'H/dev': [dir('char')],
  'H/dev/char': [link('4:0', '../../devices/virtual/tty/tty0'), link('10:1', '../../devices/pci0000:00/x')],
  D: [chr('null', 0x103), link('fd', '/proc/self/fd'), dir('pts'), chr('nvme0', 0xf000)],
});
const ours = lister({
  'M/sys': [dir('bus'), dir('class'), dir('devices'), dir('block'), dir('dev')],
  'M/sys/bus': [dir('pci')],
  'M/sys/class': [dir('nvme'), dir('block')],
  'M/sys/devices': [dir('pci0000:00'), dir('pci0000:80'), dir('system'), dir('virtual')],
  'M/sys/devices/system': [dir('cpu'), dir('node')],
  'M/sys/devices/virtual': [dir('nvme-subsystem')],
  'M/sys/dev': [dir('block'), dir('char')],
  'M/sys/dev/char': [link('241:0', '../../devices/pci0000:00/0000:03:00.0/nvme/nvme0')],
  'M/dev': [{ name: 'nvme0n1', kind: 'file', mode: 0o660, uid: 0, gid: 0, rdev: 0 }, { name: 'kmsg', kind: 'file', mode: 0o644, uid: 0, gid: 0, rdev: 0 }],
});
const ops = realPathsPlan({ host, ours }, 'H', 'D', 'M');
const binds = ops.filter((o) => o.op === 'bind').map((o) => `${o.from} -> ${o.to}`);
const links = ops.filter((o) => o.op === 'symlink').map((o) => o.path);

describe('which paths the emulated host takes under p2pemu run', () => {
  test('PCI, block, NVMe classes, dev/block and system cpu/node come from the mount; the rest of /sys is the host\'s', () => {
    expect(binds).toContain('M/sys/bus/pci -> /sys/bus/pci');
    expect(binds).toContain('H/bus/usb -> /sys/bus/usb');
    expect(binds).toContain('M/sys/devices/pci0000:00 -> /sys/devices/pci0000:00');
    expect(binds).toContain('M/sys/devices/pci0000:80 -> /sys/devices/pci0000:80');
    expect(binds).not.toContain('H/devices/pci0000:00 -> /sys/devices/pci0000:00');
    expect(binds).toContain('M/sys/devices/system/cpu -> /sys/devices/system/cpu');
    expect(binds).toContain('M/sys/devices/system/node -> /sys/devices/system/node');
    expect(binds).toContain('H/devices/system/clocksource -> /sys/devices/system/clocksource');
    expect(binds).toContain('M/sys/devices/virtual/nvme-subsystem -> /sys/devices/virtual/nvme-subsystem');
    expect(binds).toContain('H/fs -> /sys/fs');
    expect(binds).toContain('M/sys/class/nvme -> /sys/class/nvme');
    expect(binds).toContain('M/sys/block -> /sys/block');
  });

  test('host links into its own PCI tree go; ours and the others stay', () => {
    expect(links).toContain('/sys/class/net/lo');
    expect(links).not.toContain('/sys/class/net/eth0');
    expect(links).toContain('/sys/dev/char/4:0');
    expect(links).not.toContain('/sys/dev/char/10:1');
    expect(links).toContain('/sys/dev/char/241:0');
  });

  test('/dev: host nodes recreated, host nvme nodes hidden, the emulated ones bound; kmsg stays the host\'s', () => {
    expect(ops).toContainEqual({ op: 'mknod', path: '/dev/null', mode: 0o020666, rdev: 0x103, uid: 0, gid: 5 });
    expect(ops.some((o) => o.op === 'mknod' && o.path === '/dev/nvme0')).toBe(false);
    expect(binds).toContain('M/dev/nvme0n1 -> /dev/nvme0n1');
    expect(binds).not.toContain('M/dev/kmsg -> /dev/kmsg');
    expect(binds).toContain('D/pts -> /dev/pts');
  });
});
