// What an open control file holds is given back when it closes, as test_hmm
// and dma-buf give it back; hmm_dmirror0 refuses addresses test_hmm refuses;
// a large request leaves room for other users of the mount.

import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountTopology, sh, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (canMount()) m = mountTopology();
});
afterAll(() => m?.unmount());

const py = (script: string) => {
  const r = sh(`python3 - <<'PY'
import ctypes, errno, mmap, os, subprocess, sys, time
M = ${JSON.stringify(m.mnt)}
DMIRROR = M + '/dev/hmm_dmirror0'
def cmd(fd, c):
    try:
        os.write(fd, c.encode())
        return os.pread(fd, 1 << 20, 0).decode().strip()
    except OSError as e:
        return errno.errorcode[e.errno]
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
def region(pages, prot=3):
    # MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE: address space, no memory until touched
    return libc.mmap(None, pages * 4096, prot, 0x4022, -1, 0)
${script}
PY`);
  if (r.stderr) console.log(r.stderr);
  return r.stdout;
};

describeMount('closing a control file gives back what it held', () => {
  // kernel: dmirror_fops_release(), dmirror_devmem_free(): device pages go back when the mirror ends
  test('the device-private memory a migrate took (all 262,144 pages) is back once the file is closed', () => {
    const out = py(`
addr = region(262144)
for round in range(2):
    fd = os.open(DMIRROR, os.O_RDWR)
    print(cmd(fd, f'mirror {addr} 262144'), '|', cmd(fd, f'migrate_to_dev {addr} 262144'))
    os.close(fd)`);
    expect(out).toBe('ok mirrored 262144 present 0 | ok migrated 262144\n'.repeat(2));
  });

  // kernel: dma_buf_detach(), dma_buf_put(): attachments and buffers live as long as someone holds them
  test('dma-buf attachments go on detach and with the file; buffers go with the file that exported them', () => {
    const out = py(`
ctl = M + '/sys/kernel/debug/p2pemu/dmabuf'
listing = M + '/sys/kernel/debug/p2pemu/dmabufs'
avail = lambda: int(open(M + '/sys/bus/pci/devices/0000:81:00.0/p2pmem/available').read())
before = avail()
fd = os.open(ctl, os.O_RDWR)
buf = cmd(fd, 'export 0000:81:00.0 1048576').split()[-1]
for i in range(2000):
    os.write(fd, f'attach {buf} 0000:82:00.0 p2p'.encode())
att = cmd(fd, f'attach {buf} 0000:82:00.0 p2p').split()[2]
print(open(listing).read().count('\\n'), cmd(fd, f'detach {att}'), cmd(fd, f'map {att}'), open(listing).read().count('\\n'))
print(before - avail())
os.close(fd)
print(open(listing).read().count('\\n'), before - avail())`);
    // header, the buffer, 2001 attachments; one detached; after the close: the header alone, the memory back
    expect(out).toBe('2003 ok ENOENT 2002\n1048576\n1 0\n');
  });
});

describeMount('hmm_dmirror0 refuses what test_hmm refuses', () => {
  // kernel: dmirror_fops_unlocked_ioctl() (unaligned or wrapping range) and dmirror_migrate()
  // (an address without a readable mapping): EINVAL
  test('unmapped, negative, unaligned and out-of-range addresses are EINVAL; so is a migrate of PROT_NONE memory', () => {
    const out = py(`
fd = os.open(DMIRROR, os.O_RDWR)
ok = region(4)
none = region(4, 0)
gone = region(4)
libc.munmap(ctypes.c_void_p(gone), 4 * 4096)
for c in [f'mirror {gone} 4', f'mirror -4096 1', f'mirror {ok + 1} 1', f'mirror {1 << 47} 1', f'mirror {ok} 0', f'mirror {ok} 1x',
          f'mirror {none} 4', f'migrate_to_dev {none} 4', f'migrate_to_sys {none} 4', f'mirror {ok} 4', f'migrate_to_dev {ok} 4']:
    print(cmd(fd, c))
try:
    import fcntl
    fcntl.ioctl(fd, 0xc0284800, bytearray(40))
except OSError as e:
    print(errno.errorcode[e.errno])`);
    expect(out.split('\n')).toEqual([
      'EINVAL',
      'EINVAL',
      'EINVAL',
      'EINVAL',
      'EINVAL',
      'EINVAL',
      'ok mirrored 4 present 0',
      'EINVAL',
      'EINVAL',
      'ok mirrored 4 present 0',
      'ok migrated 4',
      // dmirror's ioctl answers commands it does not know with EINVAL
      'EINVAL',
      '',
    ]);
  });

  test('a 1,048,576-page mirror and snapshot are worked through in slices: reads by another process are served in between', () => {
    const out = py(`
import tempfile
stop = tempfile.mktemp()
addr = region(1 << 20)
reader = subprocess.Popen([sys.executable, '-c', """
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
done = []
while not os.path.exists(sys.argv[2]):
    os.pread(fd, 64, 0)
    done.append(time.monotonic())
print(' '.join(map(str, done)))
""", M + '/sys/bus/pci/devices/0000:81:00.0/vendor', stop], stdout=subprocess.PIPE, text=True)
time.sleep(1)
fd = os.open(DMIRROR, os.O_RDWR)
t0 = time.monotonic()
os.write(fd, f'mirror {addr} 1048576\\nsnapshot {addr} 1048576'.encode())
t1 = time.monotonic()
open(stop, 'w').close()
done = [float(t) for t in reader.communicate()[0].split()]
os.unlink(stop)
result = os.pread(fd, 64, 0).decode()
print(result.split('\\n')[0], result.split('\\n')[1][:8], sum(1 for t in done if t0 < t < t1) >= 8)`);
    expect(out).toBe('ok mirrored 1048576 present 0 00000000 True\n');
  });
});
