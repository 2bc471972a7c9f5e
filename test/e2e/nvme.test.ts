// NVMe namespaces and CMBs from real processes: dd, python, a compiled C
// program; P2P decisions for O_DIRECT into p2pmem; persistence and crashes.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compileC, mounted, mountTopology, p2pemu, ROOT, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let copyBin: string;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  copyBin = compileC('scripts/examples/p2p-copy.c');
});
afterAll(() => m?.unmount());

const dev = (name: string) => `${m.mnt}/dev/${name}`;
const cmbAllocate = (bdf: string) => `${m.sysfs}/devices/${bdf}/p2pmem/allocate`;
const transfers = () => sh(`cat '${m.mnt}/sys/kernel/debug/p2pemu/transfers'`).stdout;
const py = (script: string) =>
  sh(`python3 - <<'PY'
import errno, fcntl, hashlib, mmap, os, struct
M = ${JSON.stringify(m.mnt)}
def err(fn):
    try:
        fn(); return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
${script}
PY`);

describeMount('controllers and namespaces in sysfs', () => {
  test('cmb, cmbloc and cmbsz in the kernel\'s formats (hex with x, decimal, decimal)', () => {
    expect(sh(`cat '${m.mnt}/sys/class/nvme/nvme0/cmb'`).stdout).toBe('cmbloc : x00000002\ncmbsz  : x04000019\n');
    expect(sh(`cat '${m.mnt}/sys/class/nvme/nvme0/cmbloc' '${m.mnt}/sys/class/nvme/nvme0/cmbsz'`).stdout).toBe('2\n67108889\n');
    // a controller without a CMB has none of the three files
    expect(sh(`ls '${m.mnt}/sys/class/nvme/nvme2/'`).stdout).not.toMatch(/^cmb/m);
  });

  test('the CMB is P2P memory, published (RDS and WDS), with the I/O submission queues already in it', () => {
    const g = `${m.sysfs}/devices/0000:03:00.0/p2pmem`;
    expect(sh(`cat '${g}/size' '${g}/available' '${g}/published'`).stdout).toBe(`67108864\n${67108864 - 4 * 65536}\n1\n`);
    expect(sh(`grep -c 'nvme 0000:0[34]:00.0: added peer-to-peer DMA memory' '${m.mnt}/dev/kmsg'`).stdout.trim()).toBe('2');
  });

  test('block attributes: size in 512-byte sectors, block sizes in queue/', () => {
    expect(sh(`cat '${m.mnt}/sys/block/nvme0n1/size' '${m.mnt}/sys/block/nvme0n1/queue/logical_block_size' '${m.mnt}/sys/block/nvme0n1/queue/physical_block_size'`).stdout).toBe('2097152\n512\n512\n');
    expect(sh(`readlink -f '${m.mnt}/sys/block/nvme0n1/device/device'`).stdout.trim()).toBe(sh(`readlink -f '${m.sysfs}/devices/0000:03:00.0'`).stdout.trim());
  });

  test('CAP.CMBS, CMBLOC and CMBSZ are in BAR0 where the driver reads them', () => {
    const r = py(`
b = open(M + '/sys/bus/pci/devices/0000:03:00.0/resource0', 'rb').read(0x58)
cap = struct.unpack_from('<Q', b, 0)[0]
print((cap >> 57) & 1, hex(struct.unpack_from('<I', b, 0x38)[0]), hex(struct.unpack_from('<I', b, 0x3c)[0]), struct.unpack_from('<Q', b, 0x50)[0] & 3)
`);
    expect(r.stdout).toBe('1 0x2 0x4000019 3\n');
  });
});

describeMount('namespaces behave like block devices', () => {
  test('O_DIRECT round trip with dd keeps every byte (sha256)', () => {
    const r = sh(`set -e
      f=$(mktemp); head -c 6291456 /dev/urandom > $f
      dd if=$f of='${dev('nvme2n1')}' bs=1M oflag=direct status=none
      a=$(sha256sum < $f); b=$(dd if='${dev('nvme2n1')}' bs=1M count=6 iflag=direct status=none | sha256sum)
      rm -f $f; [ "$a" = "$b" ] && echo same`);
    expect(r.stdout.trim()).toBe('same');
  });

  test('O_DIRECT at an offset or length that is not a multiple of the logical block size fails with EINVAL', () => {
    const r = py(`
fd = os.open(M + '/dev/nvme2n1', os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, 8192)
print(err(lambda: os.preadv(fd, [memoryview(buf)[:1000]], 0)), err(lambda: os.preadv(fd, [buf], 100)), err(lambda: os.pwritev(fd, [memoryview(buf)[:512]], 512)))
`);
    expect(r.stdout).toBe('EINVAL EINVAL ok\n');
  });

  test('buffered I/O at any offset works; O_TRUNC and truncate leave the size alone', () => {
    const r = sh(`set -e
      printf 'abc' | dd of='${dev('nvme2n1')}' bs=1 seek=7 status=none
      : > '${dev('nvme2n1')}'
      truncate -s 0 '${dev('nvme2n1')}' || true
      stat -c %s '${dev('nvme2n1')}'; dd if='${dev('nvme2n1')}' bs=1 skip=7 count=3 status=none`);
    expect(r.stdout).toBe('1073741824\nabc');
  });

  test('block ioctls answer with the namespace geometry (python fcntl, blockdev)', () => {
    const r = py(`
fd = os.open(M + '/dev/nvme0n1', os.O_RDONLY)
b8 = bytearray(8); fcntl.ioctl(fd, 0x80081272, b8); size64 = struct.unpack('<Q', b8)[0]
b4 = bytearray(4); fcntl.ioctl(fd, 0x1268, b4); ssz = struct.unpack('<i', b4)[0]
b4 = bytearray(4); fcntl.ioctl(fd, 0x127b, b4); pbsz = struct.unpack('<I', b4)[0]
b8 = bytearray(8); fcntl.ioctl(fd, 0x1260, b8); sectors = struct.unpack('<Q', b8)[0]
print(size64, ssz, pbsz, sectors, fcntl.ioctl(fd, 0x4e40), err(lambda: fcntl.ioctl(fd, 0x1234)))
`);
    expect(r.stdout).toBe('1073741824 512 512 2097152 1 ENOTTY\n');
    expect(sh(`blockdev --getsize64 --getss '${dev('nvme0n1')}'`).stdout).toBe('1073741824\n512\n');
  });

  test('writing past the end fails with ENOSPC', () => {
    expect(py(`fd = os.open(M + '/dev/nvme2n1', os.O_WRONLY); print(err(lambda: os.pwrite(fd, b'x' * 512, 1 << 30)))`).stdout).toBe('ENOSPC\n');
  });
});

describeMount('O_DIRECT into P2P memory follows the kernel\'s rules', () => {
  test('the classic copy nvme0n1 → CMB of nvme1 → nvme1n1 (switch-local) is verified, by the C example', () => {
    sh(`head -c 8388608 /dev/urandom | dd of='${dev('nvme0n1')}' bs=1M iflag=fullblock oflag=direct status=none`);
    const r = sh(`'${copyBin}' '${dev('nvme0n1')}' '${dev('nvme1n1')}' '${cmbAllocate('0000:04:00.0')}' 8`);
    expect(r.stdout).toMatch(/copied 8 MiB .* verified$/m);
    expect(r.code).toBe(0);
  });

  test('the same copy to nvme2n1 (other root port, host bridge not whitelisted) fails with EREMOTEIO, and the kernel says why', () => {
    const r = sh(`'${copyBin}' '${dev('nvme0n1')}' '${dev('nvme2n1')}' '${cmbAllocate('0000:04:00.0')}' 2`);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Remote I/O error');
    expect(sh(`grep -c 'nvme 0000:06:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:04:00.0) do not share an upstream bridge or whitelisted host bridge' '${m.mnt}/dev/kmsg'`).stdout.trim()).toBe('1');
  });

  test('the Python example copies through the accelerator\'s BAR only where the path allows', () => {
    const ok = sh(`python3 '${ROOT}/scripts/examples/p2p_copy.py' '${dev('nvme0n1')}' '${dev('nvme1n1')}' '${cmbAllocate('0000:03:00.0')}' 2`);
    expect(ok.stdout).toMatch(/verified$/m);
    const refused = sh(`python3 '${ROOT}/scripts/examples/p2p_copy.py' '${dev('nvme0n1')}' '${dev('nvme1n1')}' '${m.sysfs}/devices/0000:81:00.0/p2pmem/allocate' 1`);
    expect(refused.code).toBe(3);
  });

  test('counters match the bytes moved, per client, provider and path', () => {
    const before = transfers();
    const r = py(`
buf = mmap.mmap(os.open(M + '/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate', os.O_RDWR), 3 << 20, mmap.MAP_SHARED)
buf[0] = 0
src = os.open(M + '/dev/nvme0n1', os.O_RDONLY | os.O_DIRECT)
print(os.preadv(src, [buf], 0))
`);
    expect(r.stdout).toBe(`${3 << 20}\n`);
    const row = (t: string) => t.split('\n').find((l) => /^0000:03:00\.0\s+0000:04:00\.0\s+p2p-switch/.test(l));
    const bytes = (l: string | undefined) => (l ? Number(l.trim().split(/\s+/)[5]) : 0);
    expect(bytes(row(transfers())) - bytes(row(before))).toBe(3 << 20);
  });

  test('a request never mixes providers or P2P and host memory: each part is decided on its own', () => {
    const r = py(`
p2p = mmap.mmap(os.open(M + '/sys/bus/pci/devices/0000:03:00.0/p2pmem/allocate', os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
bad = mmap.mmap(os.open(M + '/sys/bus/pci/devices/0000:05:00.0/p2pmem/allocate', os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
host = mmap.mmap(-1, 1 << 20)
p2p[0] = 0; bad[0] = 0
fd = os.open(M + '/dev/nvme1n1', os.O_RDONLY | os.O_DIRECT)
print(err(lambda: os.preadv(fd, [host, p2p], 0)), err(lambda: os.preadv(fd, [p2p, bad], 0)))
`);
    // nvme1 ↔ nvme0's CMB is switch-local; nvme1 ↔ p2pmem0 (ACS redirect, host bridge not whitelisted) is refused
    expect(r.stdout).toBe('ok EREMOTEIO\n');
  });
});

describeMount('persistence and crashes', () => {
  test('data survives unmount and remount with the same state directory', () => {
    const mm = mountTopology();
    try {
      sh(`printf 'persist-me' | dd of='${mm.mnt}/dev/nvme2n1' bs=512 conv=sync oflag=direct status=none`);
      expect(p2pemu('unmount', mm.mnt).code).toBe(0);
      expect(p2pemu('mount', mm.mnt, '--state', mm.state).code).toBe(0);
      expect(sh(`head -c 10 '${mm.mnt}/dev/nvme2n1'`).stdout).toBe('persist-me');
    } finally {
      mm.unmount();
    }
  });

  test('kill -9 of the daemon loses no O_DIRECT write and no fsync\'d write that returned', () => {
    const mm = mountTopology();
    try {
      const r = sh(`python3 - <<'PY'
import mmap, os
M = ${JSON.stringify(mm.mnt)}
d = os.open(M + '/dev/nvme0n1', os.O_WRONLY | os.O_DIRECT)
b = mmap.mmap(-1, 1 << 20); b[:] = b'D' * (1 << 20)
print(os.pwritev(d, [b], 4 << 20))
f = os.open(M + '/dev/nvme0n1', os.O_WRONLY)
os.pwrite(f, b'fsynced!', 123); os.fsync(f)
print('done', flush=True)
os.kill(${mm.pid}, 9)
PY`);
      expect(r.stdout).toBe(`${1 << 20}\ndone\n`);
      p2pemu('unmount', mm.mnt); // recovers the stale mount
      expect(mounted(mm.mnt)).toBe(false);
      expect(p2pemu('mount', mm.mnt, '--state', mm.state).code).toBe(0);
      expect(sh(`dd if='${mm.mnt}/dev/nvme0n1' bs=1M skip=4 count=1 status=none | tr -d D | wc -c`).stdout.trim()).toBe('0');
      expect(sh(`dd if='${mm.mnt}/dev/nvme0n1' bs=1 skip=123 count=8 status=none`).stdout).toBe('fsynced!');
    } finally {
      mm.unmount();
    }
  });
});

describeMount('queues and profiles', () => {
  test('a namespace whose queue does not advertise P2PDMA refuses P2P buffers with EREMOTEIO', () => {
    const dir = tempDir('p2pemu-noq-');
    const topo = join(dir, 't.yaml');
    writeFileSync(
      topo,
      `host_bridges:
  - children:
      - kind: root_port
        slot: "01.0"
        children:
          - kind: switch
            ports:
              - { slot: "00.0", children: [{ kind: nvme, name: a, cmb: { size: 16MiB, bar: 2 }, namespaces: [{ size: 64MiB }] }] }
              - { slot: "01.0", children: [{ kind: nvme, name: b, p2pdma: false, namespaces: [{ size: 64MiB, lba: 4096 }] }] }
`,
    );
    const mm = mountTopology(topo);
    try {
      expect(sh(`cat '${mm.mnt}/sys/block/nvme1n1/queue/logical_block_size'`).stdout).toBe('4096\n');
      const r = sh(`python3 - <<'PY'
import errno, mmap, os
M = ${JSON.stringify(mm.mnt)}
p2p = mmap.mmap(os.open(M + '/sys/bus/pci/devices/0000:03:00.0/p2pmem/allocate', os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
p2p[0] = 0
fd = os.open(M + '/dev/nvme1n1', os.O_RDONLY | os.O_DIRECT)
try:
    os.preadv(fd, [p2p], 0); print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
PY`);
      expect(r.stdout).toBe('EREMOTEIO\n');
    } finally {
      mm.unmount();
      sh(`rm -rf '${dir}'`);
    }
  });

  test('mainline: /dev/nvmeX cannot be mapped; userspace-p2pdma-rfc: mapping it allocates from the CMB', () => {
    const probe = (mnt: string) =>
      sh(`python3 - <<'PY'
import mmap, os, signal
M = ${JSON.stringify(mnt)}
import errno
pid = os.fork()
if pid == 0:
    try:
        m = mmap.mmap(os.open(M + '/dev/nvme1', os.O_RDWR), 1 << 20, mmap.MAP_SHARED)
    except (OSError, ValueError) as e:
        print('refused', flush=True)
        os._exit(2)
    m[0:4] = b'cmb!'
    os._exit(0 if bytes(m[0:4]) == b'cmb!' else 1)
_, st = os.waitpid(pid, 0)
print('SIGBUS' if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS else 'exit %d' % os.WEXITSTATUS(st))
print(open(M + '/sys/bus/pci/devices/0000:04:00.0/p2pmem/available').read().strip())
PY`).stdout;
    expect(probe(m.mnt)).toMatch(/^refused\nexit 2\n/);
    // and a C-style mmap that ignores the size gets SIGBUS at the first touch
    const c = sh(`python3 -c "
import ctypes, ctypes.util, os, signal
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
pid = os.fork()
if pid == 0:
    p = libc.mmap(None, 4096, 3, 1, os.open('${m.mnt}/dev/nvme1', os.O_RDWR), 0)
    ctypes.c_char.from_address(p).value = b'x'
    os._exit(0)
print(os.WTERMSIG(os.waitpid(pid, 0)[1]) == signal.SIGBUS)
"`);
    expect(c.stdout).toBe('True\n');
    const mnt = tempDir('p2pemu-rfc-');
    const state = tempDir('p2pemu-rfc-state-');
    expect(p2pemu('mount', mnt, '--state', state, '--profile', 'userspace-p2pdma-rfc').code).toBe(0);
    try {
      expect(probe(mnt)).toBe(`exit 0\n${67108864 - 4 * 65536}\n`);
    } finally {
      p2pemu('unmount', mnt);
      sh(`rm -rf '${mnt}' '${state}'`);
    }
    expect(existsSync(mnt)).toBe(false);
  });
});
