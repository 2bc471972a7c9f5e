// The default topology, mounted for real and read by lspci, cat, stat, python
// and dd from separate processes.

import { afterAll, beforeAll, expect, test } from 'vitest';
import { LSPCI, mountTopology, sh, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
});
afterAll(() => m?.unmount());

const dev = (bdf: string, attr = '') => `${m.sysfs}/devices/${bdf}${attr ? `/${attr}` : ''}`;

describeMount('lspci against the mount', () => {
  test('lspci -tn shows host bridges, root ports, the switch and endpoints with bus ranges', () => {
    expect(LSPCI(m, '-tvn')).toBe(
      [
        '-+-[0000:00]-+-00.0  8086:0998',
        ' |           +-01.0-[01-05]----00.0-[02-05]--+-00.0-[03]----00.0  144d:a824',
        ' |           |                               +-01.0-[04]----00.0  144d:a824',
        ' |           |                               \\-02.0-[05]----00.0  1de5:1000',
        ' |           \\-02.0-[06]----00.0  144d:a824',
        ' \\-[0000:80]-+-00.0  8086:2020',
        '             +-01.0-[81]----00.0  10de:2330',
        '             \\-02.0-[82]----00.0  15b3:101d',
        '',
      ].join('\n'),
    );
  });

  test('lspci -vvv decodes bus numbers, port types, links and the ACS control bits each port was given', () => {
    const out = LSPCI(m, '-vvv');
    const section = (bdf: string) => out.split('\n\n').find((s) => s.startsWith(bdf))!;
    expect(section('00:01.0')).toContain('Bus: primary=00, secondary=01, subordinate=05');
    expect(section('00:01.0')).toContain('Express (v2) Root Port');
    expect(section('00:01.0')).toMatch(/ACSCtl:\tSrcValid\+ TransBlk- ReqRedir\+ CmpltRedir\+ UpstreamFwd\+ EgressCtrl- DirectTrans-/);
    expect(section('01:00.0')).toContain('Express (v2) Upstream Port');
    expect(section('01:00.0')).not.toContain('ACSCtl');
    expect(section('02:00.0')).toContain('Express (v2) Downstream Port');
    expect(section('02:00.0')).toMatch(/ACSCtl:\tSrcValid\+ TransBlk- ReqRedir- CmpltRedir- UpstreamFwd-/);
    expect(section('02:02.0')).toMatch(/ACSCtl:\tSrcValid\+ TransBlk- ReqRedir\+ CmpltRedir\+ UpstreamFwd\+/);
    expect(section('81:00.0')).toContain('Region 1: Memory at 80000000000 (64-bit, prefetchable) [size=32G]');
    expect(section('81:00.0')).toContain('LnkSta:\tSpeed 32GT/s, Width x16');
    expect(section('03:00.0')).toContain('Kernel driver in use: nvme');
  });

  test('lspci -xxxx shows all 4096 config bytes of a PCIe function', () => {
    const out = LSPCI(m, '-xxxx -s 02:02.0');
    expect(out).toMatch(/^100: 0d 00 01 00 5f 00 1d 00/m);
    expect(out).toMatch(/^ff0: /m);
  });
});

describeMount('attribute text is byte-exact', () => {
  test.each([
    ['0000:03:00.0', 'vendor', '0x144d\n'],
    ['0000:03:00.0', 'device', '0xa824\n'],
    ['0000:03:00.0', 'subsystem_vendor', '0x144d\n'],
    ['0000:03:00.0', 'subsystem_device', '0xa801\n'],
    ['0000:03:00.0', 'class', '0x010802\n'],
    ['0000:81:00.0', 'revision', '0xa1\n'],
    ['0000:81:00.0', 'numa_node', '1\n'],
    ['0000:81:00.0', 'local_cpulist', '8-15\n'],
    ['0000:81:00.0', 'local_cpus', 'ff00\n'],
    ['0000:81:00.0', 'current_link_speed', '32.0 GT/s PCIe\n'],
    ['0000:81:00.0', 'max_link_width', '16\n'],
    ['0000:03:00.0', 'modalias', 'pci:v0000144Dd0000A824sv0000144Dsd0000A801bc01sc08i02\n'],
    ['0000:03:00.0', 'enable', '1\n'],
    ['0000:00:01.0', 'secondary_bus_number', '1\n'],
    ['0000:00:01.0', 'subordinate_bus_number', '5\n'],
    ['0000:03:00.0', 'dma_mask_bits', '64\n'],
  ])('%s/%s', (bdf, attr, text) => {
    expect(sh(`cat '${dev(bdf, attr)}'`).stdout).toBe(text);
  });

  test('resource lists start, inclusive end and flags for 13 slots of an endpoint', () => {
    const lines = sh(`cat '${dev('0000:81:00.0', 'resource')}'`).stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '0x0000000090000000 0x0000000090ffffff 0x0000000000040200',
      '0x0000080000000000 0x00000807ffffffff 0x000000000014220c',
      '0x0000000000000000 0x0000000000000000 0x0000000000000000',
      '0x0000080800000000 0x0000080801ffffff 0x000000000014220c',
    ]);
    expect(lines.filter(Boolean)).toHaveLength(13);
  });

  test('links: bus/pci/devices into the nested device tree, driver and subsystem relative to it', () => {
    expect(sh(`readlink '${dev('0000:03:00.0')}'`).stdout).toBe('../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0\n');
    expect(sh(`readlink '${dev('0000:03:00.0', 'driver')}'`).stdout).toBe('../../../../../../bus/pci/drivers/nvme\n');
    expect(sh(`ls '${m.sysfs}/drivers/nvme'`).stdout.split('\n').filter(Boolean)).toEqual(['0000:03:00.0', '0000:04:00.0', '0000:06:00.0', 'bind', 'new_id', 'remove_id', 'uevent', 'unbind']);
    expect(sh(`cat '${m.sysfs}/drivers/mlx5_core/0000:82:00.0/vendor'`).stdout).toBe('0x15b3\n');
  });
});

describeMount('config space', () => {
  test('root reads 4096 bytes, an unprivileged reader the first 64 (pci_read_config)', () => {
    const cfg = dev('0000:02:02.0', 'config');
    expect(sh(`wc -c < '${cfg}'`).stdout.trim()).toBe('4096');
    expect(sh(`setpriv --reuid=65534 --regid=65534 --clear-groups cat '${cfg}' | wc -c`).stdout.trim()).toBe('64');
  });

  test('python sees the type 1 header, bus numbers and the ACS capability at 0x100', () => {
    const r = sh(`python3 - '${dev('0000:02:02.0', 'config')}' <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
print(hex(struct.unpack_from('<H', b, 0)[0]), b[0x0e], b[0x18], b[0x19], b[0x1a])
hdr = struct.unpack_from('<I', b, 0x100)[0]
print(hex(hdr & 0xffff), hex(struct.unpack_from('<H', b, 0x106)[0]))
PY`);
    expect(r.stdout).toBe('0x1000 1 2 5 5\n0xd 0x1d\n');
  });

  test('setpci-style write of ACS control is kept and shows in lspci', () => {
    const cfg = dev('0000:02:01.0', 'config');
    sh(`printf '\\x1d\\x00' | dd of='${cfg}' bs=1 seek=$((0x106)) conv=notrunc status=none`);
    expect(LSPCI(m, '-vvv -s 02:01.0')).toMatch(/ACSCtl:\tSrcValid\+ TransBlk- ReqRedir\+ CmpltRedir\+ UpstreamFwd\+/);
    sh(`printf '\\x01\\x00' | dd of='${cfg}' bs=1 seek=$((0x106)) conv=notrunc status=none`);
    // read-only registers do not change
    sh(`printf '\\xff\\xff' | dd of='${cfg}' bs=1 seek=0 conv=notrunc status=none`);
    expect(sh(`cat '${dev('0000:02:01.0', 'vendor')}'`).stdout).toBe('0x1000\n');
  });
});

describeMount('stat looks like sysfs', () => {
  test.each([
    ['0000:03:00.0/vendor', '444 4096 regular file'],
    ['0000:03:00.0/config', '644 4096 regular file'],
    // host bridges get extended config space too (pci_cfg_space_size)
    ['0000:00:00.0/config', '644 4096 regular file'],
    ['0000:03:00.0/resource2', '600 67108864 regular file'],
    ['0000:81:00.0/resource1', '600 34359738368 regular file'],
    ['0000:03:00.0/enable', '644 4096 regular file'],
    // kernfs links have no size
    ['0000:03:00.0/driver', '777 0 symbolic link'],
    ['0000:03:00.0', '777 0 symbolic link'],
  ])('%s: %s', (path, expected) => {
    expect(sh(`stat -c '%a %s %F' '${m.sysfs}/devices/${path}'`).stdout.trim()).toBe(expected);
  });

  test('directories are 0755', () => {
    expect(sh(`stat -L -c '%a %F' '${dev('0000:03:00.0')}'`).stdout.trim()).toBe('755 directory');
  });
});

describeMount('bad writes get the errno the kernel gives', () => {
  const write = (path: string, data: string) =>
    sh(`python3 - '${path}' '${data}' <<'PY'
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.write(fd, sys.argv[2].encode())
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
PY`).stdout.trim();

  test('writing a read-only attribute: EACCES even for root', () => {
    expect(write(dev('0000:03:00.0', 'vendor'), '1')).toBe('EACCES');
  });
  test('numa_node: not a number → EINVAL, an offline node → EINVAL', () => {
    expect(write(dev('0000:81:00.0', 'numa_node'), 'abc')).toBe('EINVAL');
    expect(write(dev('0000:81:00.0', 'numa_node'), '7\n')).toBe('EINVAL');
  });
  test('numa_node override: the value changes and the kernel logs the firmware-bug alert', () => {
    expect(write(dev('0000:06:00.0', 'numa_node'), '1\n')).toBe('ok');
    expect(sh(`cat '${dev('0000:06:00.0', 'numa_node')}'`).stdout).toBe('1\n');
    // one record, at KERN_ALERT (level 1) as dev_alert() logs it
    const records = sh(`cat '${m.mnt}/dev/kmsg'`).stdout.split('\n').filter((l) => l.includes('[Firmware Bug]: Overriding NUMA node to 1.'));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatch(/^1,\d+,\d+,-;nvme 0000:06:00\.0: \[Firmware Bug\]: Overriding NUMA node to 1\.  Contact your vendor for updates\.$/);
  });
  test('enable on a device with a bound driver → EBUSY; on an unbound one it counts', () => {
    expect(write(dev('0000:03:00.0', 'enable'), '0')).toBe('EBUSY');
    expect(write(dev('0000:00:00.0', 'enable'), '1')).toBe('ok');
    expect(sh(`cat '${dev('0000:00:00.0', 'enable')}'`).stdout).toBe('1\n');
    expect(write(dev('0000:00:00.0', 'enable'), '0')).toBe('ok');
    expect(write(dev('0000:00:00.0', 'enable'), '0')).toBe('EIO');
  });
  test('an unprivileged writer of a 0644 attribute is refused with EACCES', () => {
    const r = sh(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo 0 > '${dev('0000:81:00.0', 'numa_node')}'" 2>&1`);
    expect(r.stdout).toContain('Permission denied');
  });
});

describeMount('BAR memory through resourceN', () => {
  test('dd writes land in the BAR and read back identical, from another process', () => {
    const bar = dev('0000:04:00.0', 'resource2');
    const r = sh(`set -e
      head -c 4194304 /dev/urandom > /tmp/p2pemu-bar-in.$$
      dd if=/tmp/p2pemu-bar-in.$$ of='${bar}' bs=1M conv=notrunc,fsync status=none
      dd if='${bar}' of=/tmp/p2pemu-bar-out.$$ bs=1M count=4 status=none
      cmp /tmp/p2pemu-bar-in.$$ /tmp/p2pemu-bar-out.$$ && echo same
      rm -f /tmp/p2pemu-bar-in.$$ /tmp/p2pemu-bar-out.$$`);
    expect(r.stdout.trim()).toBe('same');
  });

  test('two processes mapping the same resource file share the bytes', () => {
    const bar = dev('0000:05:00.0', 'resource4');
    const r = sh(`python3 - '${bar}' <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED)
pid = os.fork()
if pid == 0:
    m[4096:4101] = b'child'
    os._exit(0)
os.waitpid(pid, 0)
other = mmap.mmap(os.open(sys.argv[1], os.O_RDONLY), 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ)
print(bytes(m[4096:4101]).decode(), bytes(other[4096:4101]).decode())
PY`);
    expect(r.stdout.trim()).toBe('child child');
  });

  test('page faults are served while other requests keep the daemon busy', () => {
    const r = sh(`set -e
      ( for i in $(seq 200); do cat '${m.sysfs}'/devices/*/vendor > /dev/null; done ) &
      bg=$!
      python3 - '${dev('0000:81:00.0', 'resource3')}' <<'PY'
import mmap, os, sys
m = mmap.mmap(os.open(sys.argv[1], os.O_RDWR), 32 << 20, mmap.MAP_SHARED)
for off in range(0, 32 << 20, 4096):
    m[off] = off >> 12 & 0xff
print(sum(m[off] for off in range(0, 32 << 20, 4096 * 512)))
PY
      wait $bg`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(String([...Array(16).keys()].reduce((s, i) => s + ((i * 512) & 0xff), 0)));
  });
});
