// p2pmem/allocate driven from real processes (python, forked children),
// checked against the kernel's rules and the emulator's debugfs.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mountTopology, p2pemu, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
});
afterAll(() => m?.unmount());

const P2P = '0000:05:00.0'; // p2pmem0: 256 MiB
const ACCEL = '0000:81:00.0';
const group = (bdf: string) => `${m.sysfs}/devices/${bdf}/p2pmem`;
const cat = (p: string) => sh(`cat '${p}'`).stdout;
const debug = (f: string) => cat(`${m.mnt}/sys/kernel/debug/p2pemu/${f}`);

/** Runs a python script with P (the group dir) and D (the debugfs dir) defined; returns stdout. */
function py(script: string, group_ = group(P2P)): { out: string; code: number } {
  const r = sh(`python3 - <<'PY'
import mmap, os, sys, signal, random, time
P = ${JSON.stringify(group_)}
D = ${JSON.stringify(`${m.mnt}/sys/kernel/debug/p2pemu`)}
def avail(): return int(open(P + '/available').read())
def wait_avail(want, timeout=10):
    # frees happen at RELEASE, which the kernel sends after munmap or exit returned: wait for it
    end = time.time() + timeout
    while avail() != want and time.time() < end: time.sleep(0.01)
    return avail()
def amap(n, flags=mmap.MAP_SHARED, offset=0):
    fd = os.open(P + '/allocate', os.O_RDWR)
    mm = mmap.mmap(fd, n, flags, offset=offset)
    os.close(fd)
    return mm
def in_child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    _, st = os.waitpid(pid, 0)
    return 'SIGBUS' if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS else 'exit %d' % os.WEXITSTATUS(st)
${script}
PY`);
  return { out: r.stdout + r.stderr, code: r.code };
}

describeMount('p2pmem sysfs ABI', () => {
  test('size, available and published in the kernel format on every provider', () => {
    expect([cat(`${group(P2P)}/size`), cat(`${group(P2P)}/available`), cat(`${group(P2P)}/published`)]).toEqual(['268435456\n', '268435456\n', '1\n']);
    expect(cat(`${group(ACCEL)}/size`)).toBe('34359738368\n');
  });

  test('devices without a pool have no p2pmem directory', () => {
    expect(sh(`ls '${m.sysfs}/devices/0000:82:00.0/p2pmem' 2>&1`).stdout).toContain('No such file or directory');
  });

  test('allocate is a 0660 file of 1 TiB, and the ranges registered were logged', () => {
    expect(sh(`stat -c '%a %s' '${group(P2P)}/allocate'`).stdout).toBe('660 1099511627776\n');
    expect(cat(`${m.mnt}/dev/kmsg`)).toMatch(/p2pemu_accel 0000:81:00\.0: added peer-to-peer DMA memory 0x80000000000-0x807ffffffff/);
  });
});

describeMount('allocate from real processes', () => {
  test('two processes mapping allocate at offset 0 get disjoint memory and never see each other\'s bytes', () => {
    const r = py(`
a = amap(1 << 20); a[0:6] = b'first!'
pid = os.fork()
if pid == 0:
    b = amap(1 << 20)
    print('child sees', bytes(b[0:6]), flush=True)
    b[0:6] = b'second'
    os._exit(0)
os.waitpid(pid, 0)
print('parent still has', bytes(a[0:6]))
`);
    expect(r.out).toBe("child sees b'\\x00\\x00\\x00\\x00\\x00\\x00'\nparent still has b'first!'\n");
  });

  // regression from when readers served faults from mapped windows of the BAR file, shared
  // between allocations: a window cut to the first (small) allocation's end made the next one's reader spin forever
  test('a small allocation followed by a larger one further into the BAR: both are served', () => {
    const r = py(`
a = amap(64 << 10); a[0] = 1
b = amap(4 << 20); b[0] = 2; b[3 << 20] = 3
print(a[0], b[0], b[3 << 20])
`);
    expect(r.out).toBe('1 2 3\n');
  });

  test('a mapping shared by fork is coherent both ways', () => {
    const r = py(`
a = amap(1 << 20)
a[0:4] = b'mine'
pid = os.fork()
if pid == 0:
    print('child reads', bytes(a[0:4]), flush=True)
    a[4096:4101] = b'child'
    os._exit(0)
os.waitpid(pid, 0)
print('parent reads', bytes(a[4096:4101]))
`);
    expect(r.out).toBe("child reads b'mine'\nparent reads b'child'\n");
  });

  test('available drops by the mapped length while mapped and comes back after munmap and exit', () => {
    const r = py(`
before = avail()
a = amap(3 << 20); a[0] = 1
b = amap(5 << 12); b[0] = 1
print(before - avail())
a.close()
print(before - wait_avail(before - (5 << 12)))
in_child(lambda: (amap(1 << 20).__setitem__(0, 1), time.sleep(0.05)))
print(before - wait_avail(before - (5 << 12)))
`);
    expect(r.out).toBe(`${(3 << 20) + (5 << 12)}\n${5 << 12}\n${5 << 12}\n`);
  });

  test('debugfs lists each allocation with owner, size and bus address', () => {
    const r = py(`
a = amap(2 << 20); a[0] = 1
print(open(D + '/allocations').read())
`);
    expect(r.out).toMatch(/^\d+\s+0000:05:00\.0\s+4\s+0x[0-9a-f]+\s+0x4001[0-9a-f]+\s+2097152\s+\d+\s+python3\s+mapped$/m);
  });

  test('available and size arithmetic is exact after 1,000 random map/unmap cycles from 4 processes', () => {
    const r = py(`
size = int(open(P + '/size').read())
def worker(seed):
    rnd = random.Random(seed)
    live = []
    for i in range(250):
        if live and (rnd.random() < 0.5 or len(live) > 6):
            mm, tag = live.pop(rnd.randrange(len(live)))
            assert bytes(mm[0:8]) == tag, 'allocation content changed'
            mm.close()
        else:
            n = rnd.randint(1, 64) * 4096
            mm = amap(n)
            tag = b'%04d%04d' % (seed, i)
            mm[0:8] = tag
            live.append((mm, tag))
    for mm, tag in live:
        assert bytes(mm[0:8]) == tag
        mm.close()
pids = []
for s in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            worker(s); os._exit(0)
        except Exception as e:
            print('worker', s, e, flush=True); os._exit(1)
    pids.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
print(codes, wait_avail(size) == size, sum(1 for l in open(D + '/allocations') if '${P2P}' in l))
`);
    expect(r.out).toBe('[0, 0, 0, 0] True 0\n');
    const counters = debug('counters').split('\n').find((l) => l.startsWith(P2P))!.split(/\s+/);
    expect(Number(counters[1])).toBeGreaterThanOrEqual(1000 / 2);
    expect(counters[1]).toBe(counters[2]); // allocations == frees
  });
});

describeMount('modes root changes', () => {
  const nobody = 'setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH=/usr/local/bin:/usr/bin:/bin';
  test("root's chmod and chown of allocate stick (kernfs_setattr): an unprivileged user then maps P2P memory, but cannot give it back to root", () => {
    const a = `${group(ACCEL)}/allocate`;
    try {
      expect(sh(`${nobody} python3 -c "open('${a}', 'r+b')"`).stderr).toMatch(/PermissionError/);
      expect(sh(`chmod 0666 '${a}' && chown nobody '${a}' && stat -c '%a %U' '${a}'`).stdout).toBe('666 nobody\n');
      const r = sh(`${nobody} python3 -c "import mmap,os; fd=os.open('${a}', os.O_RDWR); b=mmap.mmap(fd, 1<<20, mmap.MAP_SHARED); b[0:2]=b'ok'; print(bytes(b[0:2]).decode())"`);
      expect(r.stdout, r.stderr).toBe('ok\n');
      expect(sh(`${nobody} chown root '${a}'`).stderr).toMatch(/Operation not permitted/);
    } finally {
      sh(`chown root '${a}'; chmod 0660 '${a}'`);
    }
    expect(sh(`stat -c '%a %U' '${a}'`).stdout).toBe('660 root\n');
  });
});

describeMount('what the kernel refuses at mmap time fails loudly at first touch', () => {
  test('MAP_PRIVATE: SIGBUS and "fail, attempted private mapping"', () => {
    expect(py(`print(in_child(lambda: amap(4096, mmap.MAP_PRIVATE)[0]))`).out).toBe('SIGBUS\n');
    expect(cat(`${m.mnt}/dev/kmsg`)).toMatch(/p2pmem_pci 0000:05:00\.0: python3: fail, attempted private mapping/);
  });

  test('non-zero offset: SIGBUS and "fail, attempted mapping with non-zero offset"', () => {
    expect(py(`print(in_child(lambda: amap(4096, offset=4096)[0]))`).out).toBe('SIGBUS\n');
    expect(cat(`${m.mnt}/dev/kmsg`)).toMatch(/python3: fail, attempted mapping with non-zero offset/);
  });

  test('more than the pool holds: SIGBUS, nothing allocated, counted as ENOMEM', () => {
    expect(py(`print(in_child(lambda: amap(512 << 20)[0]), avail() == int(open(P + '/size').read()))`).out).toBe('SIGBUS True\n');
    expect(debug('counters')).toMatch(new RegExp(`${P2P}.*\\s[1-9]\\d*\\s+0\\s*$`, 'm'));
  });

  test('read() on allocate fails with EIO: only mmap is implemented', () => {
    expect(py(`
fd = os.open(P + '/allocate', os.O_RDWR)
try:
    os.read(fd, 16)
except OSError as e:
    print(e.errno)
`).out).toBe('5\n');
  });
});

describeMount('the device and processes see the same P2P memory', () => {
  test('a model-side (DMA) write shows in a mapping without a new fault, and a process write shows to the model', () => {
    const r = py(`
a = amap(1 << 20)
a[100:106] = b'procw!'
line = [l for l in open(D + '/allocations').read().split('\\n')[1:] if l][-1].split()
off = int(line[3], 16)
def dma(cmd):
    fd = os.open(D + '/dma', os.O_RDWR); os.write(fd, cmd.encode()); r = os.pread(fd, 1 << 21, 0).decode().strip(); os.close(fd); return r
print(bytes.fromhex(dma('read ${P2P} 4 %d 6' % (off + 100))))
print(dma('write ${P2P} 4 %d %s' % (off + 8192, b'devw'.hex())), bytes(a[8192:8196]))
`);
    expect(r.out).toBe("b'procw!'\nok b'devw'\n");
  });
});

describeMount('unbind and removal', () => {
  test('driver unbind while mapped: the mapping SIGBUSes, p2pmem/ goes; bind brings it back whole', () => {
    const r = py(`
a = amap(1 << 20); a[0] = 7
fd = os.open('${m.sysfs}/drivers/p2pemu_accel/unbind', os.O_WRONLY); os.write(fd, b'${ACCEL}'); os.close(fd)
print(in_child(lambda: a[8192]), os.path.exists(P))
fd = os.open('${m.sysfs}/drivers/p2pemu_accel/bind', os.O_WRONLY); os.write(fd, b'${ACCEL}'); os.close(fd)
print(os.path.exists(P), avail())
`, group(ACCEL));
    expect(r.out).toBe(`SIGBUS False\nTrue 34359738368\n`);
    expect(sh(`readlink '${m.sysfs}/devices/${ACCEL}/driver'`).stdout).toMatch(/drivers\/p2pemu_accel\n$/);
  });

  test('unbind of a device the driver does not hold: ENODEV', () => {
    expect(sh(`( echo 0000:82:00.0 > '${m.sysfs}/drivers/p2pemu_accel/unbind' ) 2>&1`).stdout).toContain('No such device');
  });

  test('remove while mapped: SIGBUS for the mapping, the device and its links disappear', () => {
    const r = py(`
a = amap(1 << 20); a[0] = 1
fd = os.open('${m.sysfs}/devices/${P2P}/remove', os.O_WRONLY); os.write(fd, b'1'); os.close(fd)
print(in_child(lambda: a[4096 * 3]), os.path.exists('${m.sysfs}/devices/${P2P}'), os.path.exists('${m.sysfs}/drivers/p2pmem_pci/${P2P}'))
`);
    expect(r.out).toBe('SIGBUS False False\n');
    expect(debug('pools')).not.toContain(P2P);
  });
});

describe('P2P views of a topology from the command line', () => {
  test('topo --matrix: a provider × client table of map types and distances', () => {
    const out = p2pemu('topo', '--matrix').stdout;
    expect(out).toMatch(/^client \\ provider\s+nvme0 03:00\.0\s+nvme1 04:00\.0\s+p2pmem0 05:00\.0\s+accel0 81:00\.0$/m);
    expect(out).toMatch(/^nvme0 03:00\.0\s+BUS\(0\)\s+BUS\(4\)\s+NO\(4\)\s+NO\(6\)$/m);
    expect(out).toMatch(/^nic0 82:00\.0\s+NO\(6\)\s+NO\(6\)\s+NO\(6\)\s+HB\(4\)$/m);
  });

  test('topo --matrix: a function with its own ACS redirect gets the kernel\'s answer with itself, NOT_SUPPORTED', () => {
    const dir = tempDir('p2pemu-self-');
    const topo = `${dir}/t.yaml`;
    sh(`cat > '${topo}' <<'Y'
host_bridges:
  - vendor: 0x8086
    device: 0x0998          # not on the P2PDMA whitelist
    children:
      - { kind: root_port, slot: "01.0", children: [{ kind: p2pmem, name: redirecting, acs: [RR] }] }
      - { kind: root_port, slot: "02.0", children: [{ kind: p2pmem, name: plain }] }
Y`);
    const out = p2pemu('topo', '--matrix', '--topology', topo).stdout;
    sh(`rm -rf '${dir}'`);
    expect(out).toMatch(/^redirecting \S+\s+NO\(0\)\s+NO\(\d+\)$/m);
    expect(out).toMatch(/^plain \S+\s+NO\(\d+\)\s+BUS\(0\)$/m);
  });

  test('explain: paths with ACS bits, the host-bridge rule and the kernel lines', () => {
    const out = p2pemu('explain', 'nvme0', 'p2pmem0').stdout;
    expect(out).toContain('provider path: 0000:05:00.0 p2pmem0 → 0000:02:02.0 sw0p2 [ACS SV RR CR UF: redirects] → 0000:01:00.0 sw0');
    expect(out).toContain('nearest common upstream: 0000:01:00.0 sw0; distance 4');
    expect(out).toContain('host bridge: refused: 0000:00:00.0 [8086:0998] is not on the whitelist');
    expect(out).toContain('result: NOT_SUPPORTED, distance 4');
    expect(out).toContain('  nvme 0000:03:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:02.0');
    expect(out).toContain('  pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:0998');
  });

  test('explain of an unknown device is a usage error', () => {
    const r = p2pemu('explain', 'nvme9', 'accel0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no device "nvme9"');
  });
});
