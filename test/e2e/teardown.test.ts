// Provider teardown racing other users of the provider, from real processes:
// an unbind that must not wait forever, an unbind and a removal of one device
// at once.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountTopology, sh, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (canMount()) m = mountTopology();
});
afterAll(() => m?.unmount());

const py = (script: string) =>
  sh(`python3 - <<'PY'
import errno, mmap, os, subprocess, sys, time
M = ${JSON.stringify(m.mnt)}
def w(path, data):
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            return os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as e:
        return errno.errorcode[e.errno]
${script}
PY`);

describeMount('provider teardown', () => {
  // kernel: memunmap_pages(): percpu_ref_kill() before the wait, so nothing new takes a reference
  test('unbind with a live allocate mapping returns while dma-buf exports of the same provider keep coming', () => {
    const bdf = '0000:81:00.0';
    const r = py(`
dev = M + '/sys/bus/pci/devices/${bdf}'
fd = os.open(dev + '/p2pmem/allocate', os.O_RDWR)
n = 128 << 20
mem = mmap.mmap(fd, n, mmap.MAP_SHARED)
for i in range(0, n, 4096):
    mem[i] = 1
# another process exports from the provider, in a loop, while this one unbinds it
exporter = subprocess.Popen([sys.executable, '-c', '''
import errno, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
seen = set()
end = time.time() + 3
while time.time() < end:
    try:
        os.write(fd, b"export ${bdf} 4096"); seen.add("ok")
    except OSError as e:
        seen.add(errno.errorcode[e.errno])
print(" ".join(sorted(seen)))
''', M + '/sys/kernel/debug/p2pemu/dmabuf'], stdout=subprocess.PIPE, text=True)
time.sleep(0.5)
unbind = subprocess.run(['timeout', '20', 'sh', '-c', 'echo ${bdf} > ' + M + '/sys/bus/pci/drivers/p2pemu_accel/unbind'])
print('unbind', unbind.returncode, os.path.exists(dev + '/p2pmem'), os.path.exists(dev + '/driver'))
print('exports', exporter.communicate()[0].strip())
print('bind', w(M + '/sys/bus/pci/drivers/p2pemu_accel/bind', b'${bdf}'))
print(open(dev + '/p2pmem/available').read() == open(dev + '/p2pmem/size').read())`);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('unbind 0 False False');
    // every export before the teardown started worked; every one after it was refused
    expect(lines[1]).toMatch(/^exports (ENODEV ok|ok ENODEV|ENODEV|ok)$/);
    expect(lines.slice(2)).toEqual(['bind 12', 'True', '']);
  });

  // kernel: device_lock() around device_release_driver(); pci_stop_and_remove_bus_device_locked()
  test.each([
    ['0000:03:00.0', 'nvme', 'remove'],
    ['0000:04:00.0', 'nvme', 'unbind'],
    ['0000:05:00.0', 'p2pmem_pci', 'remove'],
  ])('unbind and remove of %s (%s) at once, %s first: each succeeds or finds the device gone (ENODEV), never EIO', (bdf, drv, first) => {
    const r = py(`
dev = M + '/sys/bus/pci/devices/${bdf}'
fd = os.open(dev + '/p2pmem/allocate', os.O_RDWR)
mem = mmap.mmap(fd, 4 << 20, mmap.MAP_SHARED)
mem[0] = 1
shell = lambda c: subprocess.Popen(['bash', '-c', c], stderr=subprocess.PIPE, text=True)
cmds = {'unbind': 'echo ${bdf} > ' + M + '/sys/bus/pci/drivers/${drv}/unbind', 'remove': 'echo 1 > ' + dev + '/remove'}
order = ['${first}', 'remove' if '${first}' == 'unbind' else 'unbind']
started = {name: shell(cmds[name]) for name in order}
for p in (started['unbind'], started['remove']):
    err = p.communicate()[1]
    print('ok' if p.returncode == 0 else 'ENODEV' if 'No such device' in err else err.strip(), end=' ')
print(os.path.exists(dev))`);
    expect(r.stdout).toMatch(/^(ok|ENODEV) ok False\n$/);
    expect(readFileSync(`${m.state}/daemon.log`, 'utf8')).not.toMatch(/TypeError|handler failed/);
  });
});
