// MNT/dev/hmm_dmirror0 driven by a real process over its own memory
// (hmm-tests in spirit: mirror, snapshot, migrate, foreign faults, prot errors).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isRoot, p2pemu, sh, tempDir } from './helpers.js';

let mnt: string;
let state: string;
beforeAll(() => {
  if (!isRoot) return;
  mnt = tempDir('p2pemu-hmm-');
  state = tempDir('p2pemu-hmm-state-');
  const r = p2pemu('mount', mnt, '--state', state, '--profile', 'hmm-allow-p2p');
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => {
  if (!isRoot) return;
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

describe.skipIf(!isRoot)('hmm_dmirror0 over a process\'s own memory', () => {
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

  test('a NIC faulting the device-private pages gets P2P aliases (hmm-allow-p2p); an unreachable NVMe migrates them', () => {
    const out = py(`
m, addr = region(6)
for i in range(6): m[i * 4096] = 1
cmd(f'mirror {addr} 6')
cmd(f'migrate_to_dev {addr} 4')
print(cmd(f'fault nic0 {addr} 6 p2p'))
print(cmd(f'fault nvme2 {addr} 6 p2p'))
`);
    expect(out).toBe('ok migrated 0 p2p_alias 4 kinds p2p-alias:4,ram:2\nok migrated 4 p2p_alias 0 kinds ram:6\n');
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
