// MNT/dev/hmm_dmirror0 driven by a real process over its own memory
// (hmm-tests in spirit: mirror, snapshot, migrate, foreign faults, prot errors).

import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount, p2pemu, sh, tempDir } from './helpers.js';

let mnt: string;
let state: string;
beforeAll(() => {
  if (!canMount()) return;
  mnt = tempDir('p2pemu-hmm-');
  state = tempDir('p2pemu-hmm-state-');
  const r = p2pemu('mount', mnt, '--state', state, '--profile', 'hmm-allow-p2p');
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => {
  if (!canMount()) return;
  p2pemu('unmount', mnt);
  sh(`rm -rf '${mnt}' '${state}'`);
});

const py = (script: string) =>
  sh(`python3 - <<'PY'
import ctypes, errno, mmap, os
fd = os.open('${mnt}/dev/hmm_dmirror0', os.O_RDWR)
def cmd(c):
    try:
        os.write(fd, c.encode())
        return os.pread(fd, 1 << 20, 0).decode().strip()
    except OSError as e:
        return errno.errorcode[e.errno]
def region(pages, prot=mmap.PROT_READ | mmap.PROT_WRITE):
    m = mmap.mmap(-1, pages * 4096, prot=prot)
    return m, ctypes.addressof(ctypes.c_char.from_buffer(m)) if prot & mmap.PROT_WRITE else None
${script}
PY`).stdout;

describeMount('hmm_dmirror0 over a process\'s own memory', () => {
  test('mirror and snapshot: touched pages are WRITE, untouched ones NONE (anon_snapshot)', () => {
    const out = py(`
m, addr = region(8)
for i in range(4): m[i * 4096] = 1
print(cmd(f'mirror {addr} 8'))
print(cmd(f'snapshot {addr} 8'))
`);
    expect(out).toBe('ok mirrored 8 present 4\n0202020200000000\n');
  });

  test('migrate to the device: snapshot shows DEV_PRIVATE_LOCAL|WRITE; back to system: WRITE again (migrate)', () => {
    const out = py(`
m, addr = region(4)
for i in range(4): m[i * 4096] = 1
cmd(f'mirror {addr} 4')
print(cmd(f'migrate_to_dev {addr} 4'), cmd(f'snapshot {addr} 4'))
print(cmd(f'migrate_to_sys {addr} 4'), cmd(f'snapshot {addr} 4'))
`);
    expect(out).toBe('ok migrated 4 22222222\nok migrated 4 02020202\n');
  });

  // kernel: hmm_dma_map_pfn(), mm/hmm.c — reachability is decided at the DMA mapping, not in hmm_range_fault()
  test('a NIC faulting the device-private pages gets P2P aliases (hmm-allow-p2p); an unreachable NVMe gets them too, its DMA mapping fails (EFAULT), and with the RFC\'s retry they migrate', () => {
    const out = py(`
m, addr = region(6)
for i in range(6): m[i * 4096] = 1
cmd(f'mirror {addr} 6')
cmd(f'migrate_to_dev {addr} 4')
print(cmd(f'fault nic0 {addr} 6 p2p'))
print(cmd(f'fault nvme2 {addr} 6 p2p'))
print(cmd(f'fault nvme2 {addr} 6 p2p-retry'))
`);
    expect(out).toBe('ok migrated 0 p2p_alias 4 map_errors 0 kinds p2p-alias:4,ram:2\nEFAULT\nok migrated 4 p2p_alias 0 map_errors 4 kinds ram:6\n');
  });

  test('device writes to read-only memory fail with EPERM, faults on PROT_NONE with EFAULT (anon_write_prot, anon_read_prot)', () => {
    const out = py(`
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
ro_addr = libc.mmap(None, 8192, 1, 0x22, -1, 0)    # PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS
none_addr = libc.mmap(None, 8192, 0, 0x22, -1, 0)  # PROT_NONE
cmd(f'mirror {ro_addr} 2'); print(cmd(f'write {ro_addr} 2'), cmd(f'read {ro_addr} 2'))
cmd(f'mirror {none_addr} 2'); print(cmd(f'read {none_addr} 2'))
`);
    expect(out).toBe('EPERM ok faulted 2 migrated 0\nEFAULT\n');
  });
});

describeMount('dma-buf through debugfs', () => {
  // Each step is a control command, or "$ cmd" run by the shell while the control file stays
  // open (its buffers and attachments live as long as the open that made them).
  const ctl = (steps: string[]) =>
    sh(`python3 - <<'PY'
import errno, os, subprocess
fd = os.open('${mnt}/sys/kernel/debug/p2pemu/dmabuf', os.O_RDWR)
for c in ${JSON.stringify(steps)}:
    if c.startswith('$ '):
        print(subprocess.run(c[2:], shell=True, capture_output=True, text=True).stdout, end='')
        continue
    try:
        os.write(fd, c.encode()); print(os.pread(fd, 4096, 0).decode().strip())
    except OSError as e:
        print(errno.errorcode[e.errno])
PY`).stdout;

  test('export, attach with and without P2P, map, and revoke when the exporter is unbound', () => {
    const out = ctl([
      'export 0000:81:00.0 1048576',
      'attach 1 0000:82:00.0 p2p',
      'map 1',
      'attach 1 0000:06:00.0 p2p',
      'map 2',
      'attach 1 0000:82:00.0 static',
    ]);
    expect(out.split('\n')).toEqual([
      'ok buf 1',
      'ok att 1 peer2peer 1 (pci_p2pdma_distance() = 4: P2P allowed)',
      expect.stringMatching(/^ok bar-cpu-physical 0x80[0-9a-f]+ 1048576$/),
      expect.stringMatching(/^ok att 2 peer2peer 0 \(pci_p2pdma_distance\(\) < 0/),
      expect.stringMatching(/^ok system-memory /),
      'ok att 3 peer2peer 0 (static importer: dma_buf_attach() never sets peer2peer)',
      '',
    ]);
    // the CMB of nvme0 exports MMIO only: a static importer is refused
    // errno 95: python names it ENOTSUP
    expect(ctl(['export 0000:03:00.0 65536', 'attach 2 0000:04:00.0 static'])).toMatch(/^ok buf 2\nE(OPNOTSUPP|NOTSUP)\n$/);
    const state = ctl([
      'export 0000:81:00.0 1048576',
      'attach 3 0000:82:00.0 p2p',
      'attach 3 0000:06:00.0 p2p',
      'map 4',
      `$ echo 0000:81:00.0 > '${mnt}/sys/bus/pci/drivers/p2pemu_accel/unbind'; cat '${mnt}/sys/kernel/debug/p2pemu/dmabufs'`,
    ]);
    expect(state).toMatch(/^3 0000:81:00\.0 1048576 revoked$/m);
    expect(state).toMatch(/^ {2}4 0000:82:00\.0 1 1 revoked 1$/m);
    expect(state).toMatch(/^ {2}5 0000:06:00\.0 1 0 revoked 1$/m);
    sh(`echo 0000:81:00.0 > '${mnt}/sys/bus/pci/drivers/p2pemu_accel/bind'`);
  });

  // kernel: check_vma_flags(), mm/gup.c — the thread's central point (Hou Tao, 2025-12-24)
  test('O_DIRECT into an mmap of an exported dma-buf fails with EFAULT; the same read into p2pmem/allocate of the same device works', () => {
    // the buffer lives while the control file that exported it (or its own file) is open
    const out = sh(`python3 - <<'PY'
import errno, mmap, os
M = '${mnt}'
def err(fn):
    try:
        return str(fn())
    except OSError as e:
        return errno.errorcode[e.errno]
ctl = os.open(M + '/sys/kernel/debug/p2pemu/dmabuf', os.O_RDWR)
os.write(ctl, b'export 0000:04:00.0 1048576')
bufid = os.pread(ctl, 100, 0).decode().split()[-1]
dbuf = mmap.mmap(os.open(M + '/sys/kernel/debug/p2pemu/dma_buf/' + bufid, os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
dbuf[:5] = b'hello'
p2p = mmap.mmap(os.open(M + '/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate', os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
src = os.open(M + '/dev/nvme0n1', os.O_RDONLY | os.O_DIRECT)
print(bytes(dbuf[:5]).decode(), err(lambda: os.preadv(src, [dbuf], 0)), err(lambda: os.preadv(src, [p2p], 0)))
# revoked with its exporter, while still held open here: the file goes
os.system('echo 0000:04:00.0 > ' + M + '/sys/bus/pci/drivers/nvme/unbind')
print(os.path.exists(M + '/sys/kernel/debug/p2pemu/dma_buf/' + bufid))
PY`).stdout;
    expect(out).toBe('hello EFAULT 1048576\nFalse\n');
    sh(`echo 0000:04:00.0 > '${mnt}/sys/bus/pci/drivers/nvme/bind'`);
  });
});
