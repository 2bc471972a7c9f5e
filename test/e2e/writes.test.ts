// Writes to sysfs attributes and debugfs files from real processes, answered
// as the kernel's stores, kernfs and seq_file answer them
// (native-notes/writable-files.md).

import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountTopology, sh, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (canMount()) m = mountTopology();
});
afterAll(() => m?.unmount());

const dev = (bdf: string, attr: string) => `${m.sysfs}/devices/${bdf}/${attr}`;
const debugfs = (name: string) => `${m.mnt}/sys/kernel/debug/p2pemu/${name}`;

/** Runs python with w(path, bytes[, offset]) → bytes taken or the errno's name, and r(path) → text or errno. */
const py = (script: string) =>
  sh(`python3 - <<'PY'
import errno, os
def w(path, data, offset=None):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return errno.errorcode[e.errno]
    try:
        return os.write(fd, data) if offset is None else os.pwrite(fd, data, offset)
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        os.close(fd)
def r(path):
    try:
        return open(path, 'rb').read().decode('latin1')
    except OSError as e:
        return errno.errorcode[e.errno]
${script}
PY`).stdout;

describeMount('attribute stores answer with the kernel errno', () => {
  // kernel: enable_store(), numa_node_store(), d3cold_allowed_store(), broken_parity_status_store(),
  // remove_store(): `if (kstrto*(buf, 0, &val) < 0) return -EINVAL;` turns ERANGE into EINVAL
  test('a number too large for enable, numa_node, d3cold_allowed, broken_parity_status or remove is EINVAL, not ERANGE', () => {
    const files = ['enable', 'numa_node', 'd3cold_allowed', 'broken_parity_status', 'remove'].map((a) => dev('0000:06:00.0', a));
    expect(py(`print(*[w(f, b'99999999999999999999999') for f in ${JSON.stringify(files)}])`)).toBe('EINVAL EINVAL EINVAL EINVAL EINVAL\n');
  });

  // kernel: msi_bus_store(): kstrtoul, not kstrtobool
  test('msi_bus parses a number: "yes" is EINVAL, "2" allows MSI and reads back 1, "0" disallows it', () => {
    const f = JSON.stringify(dev('0000:81:00.0', 'msi_bus'));
    expect(py(`print(w(${f}, b'yes'), w(${f}, b'0\\n'), r(${f}).strip(), w(${f}, b'2'), r(${f}).strip())`)).toBe('EINVAL 2 0 1 1\n');
    expect(sh(`grep -c 'p2pemu_accel 0000:81:00.0: MSI/MSI-X disallowed for future drivers' '${m.mnt}/dev/kmsg'`).stdout.trim()).toBe('1');
  });

  // kernel: kstrtoul() reads a NUL-terminated buffer: what follows a NUL is not seen
  test('an embedded NUL ends the value: "0\\0x" is taken as 0', () => {
    const f = JSON.stringify(dev('0000:06:00.0', 'broken_parity_status'));
    expect(py(`print(w(${f}, b'1\\n'), r(${f}).strip(), w(${f}, b'0\\0x'), r(${f}).strip())`)).toBe('2 1 3 0\n');
  });

  // kernel: kobject_synth_uevent(): ACTION [UUID [KEY=VALUE...]]
  test('uevent takes an action name, optionally a UUID and KEY=VALUE pairs; anything else is EINVAL and logged', () => {
    const f = JSON.stringify(dev('0000:06:00.0', 'uevent'));
    const out = py(`for b in [b'add-foo', b' add', b'add foo', b'add ', b'add\\n', b'change', b'add 4a4a4a4a-0000-1111-2222-333344445555 A=1 b2=c', b'add 4a4a4a4a-0000-1111-2222-333344445555 A=']:
    res = w(${f}, b)
    print('ok' if res == len(b) else res)`);
    expect(out.split('\n').filter(Boolean)).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ok', 'ok', 'ok', 'EINVAL']);
    const log = sh(`cat '${m.mnt}/dev/kmsg'`).stdout;
    expect(log).toContain('synth uevent: /devices/pci0000:00/0000:00:02.0/0000:06:00.0: unknown uevent action string');
    expect(log).toContain('synth uevent: /devices/pci0000:00/0000:00:02.0/0000:06:00.0: incorrect uevent action arguments');
    expect(log).toContain('nvme 0000:06:00.0: uevent: failed to send synthetic uevent: -22');
  });

  // kernel: unbind_store() / bind_store() → bus_find_device_by_name(): the exact device name (sysfs_streq)
  test('bind and unbind find a device by its exact name: a topology name, a short BDF or spaces are ENODEV', () => {
    const drv = `${m.sysfs}/drivers/p2pmem_pci`;
    const out = py(`for b in [b'p2pmem0', b'05:00.0', b' 0000:05:00.0', b'0000:05:00.0 ', b'0000:05:00.0\\n\\n']:
    print(w('${drv}/unbind', b), w('${drv}/bind', b))
print(w('${drv}/unbind', b'0000:05:00.0\\n'), w('${drv}/bind', b'0000:05:00.0\\0junk'), w('${drv}/bind', b'0000:05:00.0'))`);
    expect(out).toBe('ENODEV ENODEV\n'.repeat(5) + '13 17 EBUSY\n');
  });

  // kernel: sysfs_kf_bin_write(): at or past the end of a binary attribute
  test('config written at or past its size is EFBIG; a write across the end is cut short', () => {
    const f = JSON.stringify(dev('0000:00:01.0', 'config'));
    expect(py(`print(w(${f}, b'\\0', 4096), w(${f}, b'\\0', 5000), w(${f}, b'\\0\\0', 4095))`)).toBe('EFBIG EFBIG 1\n');
  });

  test('resourceN written past the BAR is EFBIG too (a binary attribute, not a block device)', () => {
    const f = JSON.stringify(dev('0000:81:00.0', 'resource0'));
    expect(py(`print(w(${f}, b'x', 16 << 20))`)).toBe('EFBIG\n');
  });

  // kernel: kernfs_fop_write_iter() / kernfs_fop_read_iter(): no active reference once the node is gone
  test('an attribute opened before its device was removed answers ENODEV to writes and reads', () => {
    const out = py(`
d = ${JSON.stringify(`${m.sysfs}/devices/0000:06:00.0`)}
fw = os.open(d + '/numa_node', os.O_WRONLY)
fr = os.open(d + '/d3cold_allowed', os.O_RDONLY)
print(w(d + '/remove', b'1'), os.path.exists(d))
for fn in (lambda: os.write(fw, b'1'), lambda: os.read(fr, 4096)):
    try:
        print(fn())
    except OSError as e:
        print(errno.errorcode[e.errno])`);
    expect(out).toBe('1 False\nENODEV\nENODEV\n');
    // the store never ran: no NUMA override was logged for the gone device
    expect(sh(`cat '${m.mnt}/dev/kmsg'`).stdout).not.toContain('0000:06:00.0: [Firmware Bug]: Overriding');
  });
});

describeMount('how much of a write an attribute or a control file takes', () => {
  // kernel: kernfs_fop_write_iter(): a sysfs store sees the first page, and the write takes that page
  test('a 10,000-byte write to a sysfs attribute stores its first page and returns 4096', () => {
    const f = JSON.stringify(dev('0000:81:00.0', 'd3cold_allowed'));
    expect(py(`print(w(${f}, b'0\\n\\0' + b'x' * 9997), r(${f}).strip())`)).toBe('4096 0\n');
  });

  test('several commands in one write all run, in order, each with its result line', () => {
    const out = py(`
fd = os.open(${JSON.stringify(debugfs('dma'))}, os.O_RDWR)
print(os.write(fd, b'write 0000:81:00.0 1 0 c0ffee\\nread 0000:81:00.0 1 0 3\\n\\n# a comment\\nread 0000:81:00.0 1 1 2\\n'))
print(os.pread(fd, 4096, 0).decode(), end='')
try:
    os.write(fd, b'read 0000:81:00.0 1 0 1\\nread 0000:81:00.0 9 0 1\\nread 0000:81:00.0 1 2 1')
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.pread(fd, 4096, 0).decode(), end='')`);
    expect(out.split('\n')).toEqual([
      expect.stringMatching(/^\d+$/),
      'ok',
      'c0ffee',
      'ffee',
      'EINVAL',
      'c0',
      'error EINVAL: 0000:81:00.0 has no BAR 9',
      'ee',
      '',
    ]);
  });

  test('a control write longer than 64 KiB is E2BIG with nothing run, however the kernel splits it', () => {
    const out = py(`
fd = os.open(${JSON.stringify(debugfs('dma'))}, os.O_RDWR)
os.write(fd, b'write 0000:81:00.0 1 4096 00')
for n in (65537, 300000, 3 << 20):
    cmd = (b'write 0000:81:00.0 1 4096 ' + b'ab' * n)[:n]
    try:
        print(os.write(fd, cmd))
    except OSError as e:
        print(errno.errorcode[e.errno])
os.write(fd, b'read 0000:81:00.0 1 4096 1')
print(os.pread(fd, 100, 0).decode().strip())`);
    expect(out).toBe('E2BIG\nE2BIG\nE2BIG\n00\n');
  });

  // kernel: seq_read_iter(), fs/seq_file.c: a debugfs listing is as long as it is
  test('debugfs listings are not cut at 4096 bytes', () => {
    const out = py(`
import json
fd = os.open(${JSON.stringify(debugfs('dmabuf'))}, os.O_RDWR)
os.write(fd, b'export 0000:81:00.0 4096')
for i in range(300):
    os.write(fd, b'attach 1 0000:82:00.0 p2p')
text = r(${JSON.stringify(debugfs('dmabufs'))})
print(len(text) > 4096, text.count('\\n'), text.endswith('\\n'), os.stat(${JSON.stringify(debugfs('dmabufs'))}).st_size)`);
    expect(out).toBe('True 302 True 0\n');
  });
});
