# One fuzzing process: random and mutated writes to every writable file of a
# mount and random ioctls on every kind of node, in batches, each batch ended
# by a stat the daemon must answer. Reads the plan as JSON on stdin; prints one
# JSON line of aggregates: how often each (class, op, result) happened, the
# slowest request, and anything that must never happen (violations).
#
# plan: {mount, seed, seconds, destructiveAfter, batch, files: [{path, cls}],
#        classes: {cls: {seeds, binary, stateful, destructive}}, ioctls: [{path, cls}],
#        bdfs: [...], names: [...], statPath}
import ctypes
import errno
import json
import mmap
import os
import random
import sys
import time

plan = json.load(sys.stdin)
rnd = random.Random(plan['seed'])
libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
PAGE = 4096

def anon(pages, prot):
    return libc.mmap(None, pages * PAGE, prot, 0x22, -1, 0)  # MAP_PRIVATE | MAP_ANONYMOUS

# memory an ioctl may point at: writable, read-only (filled with 0xaa), PROT_NONE, unmapped
WRITABLE = anon(5, 3)
libc.munmap(ctypes.c_void_p(WRITABLE + 4 * PAGE), PAGE)
READONLY = anon(1, 3)
ctypes.memset(READONLY, 0xAA, PAGE)
libc.mprotect(ctypes.c_void_p(READONLY), PAGE, 1)
NOACCESS = anon(1, 0)
UNMAPPED = anon(1, 3)
libc.munmap(UNMAPPED, PAGE)
POINTERS = [('writable', WRITABLE), ('null', 0), ('read-only', READONLY), ('prot-none', NOACCESS), ('unmapped', UNMAPPED),
            ('kernel', 0xFFFF888000000000), ('straddling', WRITABLE + 4 * PAGE - 2)]
# memory a dmirror command can mirror
MIRROR = anon(64, 3)
ctypes.memset(MIRROR, 1, 32 * PAGE)

counts = {}
slowest = {'ms': 0.0, 'what': ''}
violations = []

def count(cls, op, result):
    key = f'{cls}|{op}|{result}'
    counts[key] = counts.get(key, 0) + 1

def timed(what, fn):
    t = time.monotonic()
    try:
        return fn()
    finally:
        ms = (time.monotonic() - t) * 1000
        if ms > slowest['ms']:
            slowest['ms'], slowest['what'] = ms, what

def fill(seed):
    return (seed.replace('{BDF}', rnd.choice(plan['bdfs'])).replace('{NAME}', rnd.choice(plan['names']))
            .replace('{ADDR}', str(MIRROR + rnd.randrange(0, 64) * PAGE)).replace('{ID}', str(rnd.randrange(1, 40))))

def mutate(data):
    data = bytearray(data)
    for _ in range(rnd.randrange(1, 4)):
        how = rnd.randrange(9)
        at = rnd.randrange(len(data) + 1)
        if how == 0 and data:
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
        elif how == 1:
            data[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
        elif how == 2:
            del data[at:at + rnd.randrange(1, 8)]
        elif how == 3:
            data[at:at] = b'\0'
        elif how == 4:
            data += b'\n'
        elif how == 5:
            data = bytearray(b' ' + data)
        elif how == 6:
            data = bytearray(data * rnd.randrange(2, 4))
        elif how == 7:
            data[at:at] = str(rnd.choice([0, 1, -1, 2 ** 31, 2 ** 64, 4096, rnd.randrange(2 ** 48)])).encode()
        else:
            data[at:at] = b'\n'
    return bytes(data)

def text_input(cls):
    seeds = plan['classes'][cls]['seeds']
    r = rnd.random()
    if r < 0.02:
        return bytes(rnd.randrange(256) for _ in range(rnd.choice([4095, 4096, 4097, 10000, 70000])))
    if r < 0.12 or not seeds:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 64)))
    data = fill(rnd.choice(seeds)).encode('latin1')
    return data if r < 0.4 else mutate(data)

def write_once(path, cls, held=None):
    info = plan['classes'][cls]
    if info['binary']:
        size = rnd.choice([1, 2, 4, 8, 64, 4096, 5000])
        data = bytes(rnd.randrange(256) for _ in range(size))
        offset = rnd.choice([0, rnd.randrange(0, 8192), rnd.randrange(0, 1 << 31), (1 << 40) + rnd.randrange(-2, 2), 4095, 4096])
    else:
        data = text_input(cls)
        offset = None
    fd = held
    if fd is None:
        try:
            fd = os.open(path, os.O_RDWR if info['stateful'] else os.O_WRONLY)
        except OSError as e:
            count(cls, 'open', errno.errorcode.get(e.errno, str(e.errno)))
            return
    def go():
        try:
            n = os.pwrite(fd, data, offset) if offset is not None else os.write(fd, data)
            if info['stateful']:
                os.pread(fd, 1 << 16, 0)
            return n
        finally:
            if held is None:
                os.close(fd)
    try:
        timed(f'write {path} {data[:40]!r}', go)
        count(cls, 'write', 'ok')
    except OSError as e:
        count(cls, 'write', errno.errorcode.get(e.errno, str(e.errno)))

def random_cmd():
    r = rnd.random()
    known = [0x1268, 0x1260, 0x80081272, 0x80081270, 0x127b, 0x1278, 0x1279, 0x127a, 0x125e, 0x127c, 0x127e, 0x1263, 0x1261, 0x4e40,
             0xc0284800, 0xc0284801, 0xc0284802, 0xc0284803, 0xc0284804]
    if r < 0.5:
        return rnd.choice(known)
    if r < 0.8:
        return rnd.choice(known) ^ (1 << rnd.randrange(32))
    # a random command of a type the VFS does not answer itself (not 'T' 'X' 'f' 0x94 0x15, nor type 0)
    return (rnd.randrange(4) << 30) | (rnd.randrange(256) << 16) | (rnd.choice([0x12, 0x48, 0x4e, 0x41, 0x6b, 0xab]) << 8) | rnd.randrange(256)

GENERIC = {0x5421, 0x5450, 0x5451, 0x5452, 0x541b, 0x5460, 1, 2}

def ioctl_once(path, cls):
    cmd = random_cmd()
    if cmd in GENERIC or ((cmd >> 8) & 0xff) in (0x54, 0x58, 0x66, 0x94, 0x15, 0x00):
        return
    kind, ptr = rnd.choice(POINTERS)
    def go():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            rc = libc.ioctl(fd, cmd, ctypes.c_void_p(ptr))
            return ctypes.get_errno() if rc < 0 else 0
        finally:
            os.close(fd)
    try:
        err = timed(f'ioctl {path} 0x{cmd:x} {kind}', go)
    except OSError as e:
        count(cls, 'open', errno.errorcode.get(e.errno, str(e.errno)))
        return
    count(cls, f'ioctl:{"writable" if kind == "writable" else "bad-pointer"}', errno.errorcode.get(err, 'ok') if err else 'ok')
    if ctypes.string_at(READONLY, 8) != b'\xaa' * 8:
        violations.append(f'ioctl 0x{cmd:x} on {path} wrote into a read-only page')

def kmsg_read(path):
    def go():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            for _ in range(rnd.randrange(1, 50)):
                if not os.read(fd, rnd.choice([16, 128, 8192])):
                    break
        finally:
            os.close(fd)
    try:
        timed(f'read {path}', go)
        count('dev/kmsg', 'read', 'ok')
    except OSError as e:
        count('dev/kmsg', 'read', errno.errorcode.get(e.errno, str(e.errno)))

deadline = time.monotonic() + plan['seconds']
destructive_at = time.monotonic() + plan['seconds'] * plan['destructiveAfter']
by_class = {}
for f in plan['files']:
    by_class.setdefault(f['cls'], []).append(f['path'])
batches = 0
stat_max = 0.0
while time.monotonic() < deadline:
    # a batch: control files held open across it, as a program would hold them
    held = {}
    for cls, paths in by_class.items():
        if plan['classes'][cls]['stateful']:
            try:
                held[cls] = os.open(rnd.choice(paths), os.O_RDWR)
            except OSError as e:
                count(cls, 'open', errno.errorcode.get(e.errno, str(e.errno)))
    for _ in range(plan['batch']):
        r = rnd.random()
        if r < 0.2:
            target = rnd.choice(plan['ioctls'])
            ioctl_once(target['path'], target['cls'])
            continue
        if r < 0.25:
            kmsg_read(plan['mount'] + '/dev/kmsg')
            continue
        cls = rnd.choice(list(by_class))
        if plan['classes'][cls]['destructive'] and (time.monotonic() < destructive_at or rnd.random() < 0.7):
            continue
        path = rnd.choice(by_class[cls])
        write_once(path, cls, held[cls] if cls in held and rnd.random() < 0.8 else None)
    for fd in held.values():
        os.close(fd)
    # the daemon must still answer: a lookup it cannot cache (allocate is looked up afresh each time)
    def stat():
        try:
            os.stat(plan['statPath'])
        except OSError as e:
            count('stat', 'stat', errno.errorcode.get(e.errno, str(e.errno)))
    t = time.monotonic()
    timed('stat after a batch', stat)
    stat_max = max(stat_max, (time.monotonic() - t) * 1000)
    batches += 1

print(json.dumps({'counts': counts, 'slowest': slowest, 'batches': batches, 'statMaxMs': stat_max, 'violations': violations}))
