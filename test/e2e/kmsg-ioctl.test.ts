// dev/kmsg as the kernel's printk ring and /dev/kmsg give it, and ioctl
// answers written into a caller's memory only where put_user() could write.

import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountTopology, p2pemu, ROOT, sh, tempDir, type Mount, describeMount, canMount } from './helpers.js';

let m: Mount;
let probe: string;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  probe = join(tempDir('p2pemu-c-'), 'ioctl-user-memory');
  const r = sh(`gcc -O2 -o '${probe}' '${ROOT}/test/e2e/programs/ioctl-user-memory.c'`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => m?.unmount());

/** python with kmsg_write(bytes) → bytes taken or errno name, each on its own open, and records() → the kmsg lines. */
const py = (script: string) =>
  sh(`python3 - <<'PY'
import errno, os
KMSG = ${JSON.stringify(`${m.mnt}/dev/kmsg`)}
def kmsg_write(data):
    fd = os.open(KMSG, os.O_WRONLY)
    try:
        return os.write(fd, data)
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        os.close(fd)
def records(flags=0):
    fd = os.open(KMSG, os.O_RDONLY | flags)
    out = []
    try:
        while True:
            b = os.read(fd, 8192)
            if not b:
                break
            out.append(b.decode('latin1'))
    except OSError as e:
        out.append(errno.errorcode[e.errno])
    os.close(fd)
    return out
${script}
PY`).stdout;

describeMount('dev/kmsg', () => {
  // kernel: devkmsg_write(): len > PRINTKRB_RECORD_MAX → -EINVAL
  test('a record of more than 1024 bytes is EINVAL; 1024 bytes are taken', () => {
    expect(py(`print(kmsg_write(b'x' * 1025), kmsg_write(b'<6>' + b'y' * 1021))`)).toBe('EINVAL 1024\n');
  });

  // kernel: vprintk_store(): one write is one record; msg_add_ext_text() escapes what is not printable
  test('a newline inside a write stays in its one record, escaped as \\x0a, as are control bytes, bytes ≥ 127 and backslashes', () => {
    const out = py(`
kmsg_write(b'forged\\n12,999,0,-;second\\n')
kmsg_write(b'ctl\\x01\\xff\\\\end')
print(''.join(r for r in records() if 'forged' in r or 'ctl' in r), end='')`);
    expect(out).toMatch(/^12,\d+,\d+,-;forged\\x0a12,999,0,-;second\n12,\d+,\d+,-;ctl\\x01\\xff\\x5cend\n$/);
  });

  // kernel: devkmsg_write(): <N> is facility << 3 | level; no facility means LOG_USER
  test('the <N> prefix is facility and level: <12> is user.warning, <9> user.alert, <4> gets LOG_USER, <0x3> is no prefix', () => {
    const out = py(`
for b in (b'<12>zz-tw', b'<9>zz-ta', b'<4>zz-tn', b'<30>zz-td', b'<0x3>zz-tx', b'<>zz-te'):
    kmsg_write(b)
print(' '.join(r.split(',')[0] + ':' + r.split(';')[1].strip() for r in records() if 'zz-' in r))`);
    expect(out).toBe('12:zz-tw 9:zz-ta 12:zz-tn 30:zz-td 12:<0x3>zz-tx 8:zz-te\n');
    // dmesg filters by the level alone: alert (1) and emergency (0) pass --level 1, warning (4) does not
    const dmesg = p2pemu('dmesg', m.mnt, '--level', '1').stdout;
    expect(dmesg).toMatch(/\] zz-ta$/m);
    expect(dmesg).toMatch(/\] zz-te$/m);
    expect(dmesg).not.toMatch(/\] zz-tw$/m);
  });

  // kernel: ___ratelimit() with printk.devkmsg=ratelimit: 10 lines per 5 s per open file
  test('one open writing 25 lines gets 10 through, and closing it logs how many were suppressed', () => {
    const out = py(`
fd = os.open(KMSG, os.O_WRONLY)
print(sum(os.write(fd, b'burst %d' % i) for i in range(25)))
os.close(fd)
recs = records()
print(sum(1 for r in recs if ';burst ' in r), [r.split(';')[1].strip() for r in recs if 'suppressed' in r])`);
    expect(out).toBe("190\n10 ['python3: 15 output lines suppressed due to ratelimiting']\n");
  });

  // kernel: devkmsg_read(): one record per read, EINVAL when it does not fit, EAGAIN at the end when non-blocking
  test('reads give one record each; too small a buffer is EINVAL; O_NONBLOCK at the newest record is EAGAIN', () => {
    const out = py(`
fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
first = os.read(fd, 8192).decode()
print(first.count('\\n'), first.split(',')[1])
try:
    os.read(fd, 8)
except OSError as e:
    print(errno.errorcode[e.errno])
print(records(os.O_NONBLOCK)[-1])`);
    expect(out).toBe('1 0\nEINVAL\nEAGAIN\n');
  });

  // kernel: the printk ring (CONFIG_LOG_BUF_SHIFT 17) overwrites its oldest records; devkmsg_read() says EPIPE once
  test('the log is a 128 KiB ring: 300 KiB of writes push the oldest records out, and a reader left behind gets EPIPE', () => {
    const out = py(`
early = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
os.read(early, 8192)
for i in range(300):
    kmsg_write(b'<6>' + (b'%04d' % i) * 255)
recs = records(os.O_NONBLOCK)
print(len(recs) - 1, recs[0].split(',')[1] != '0', recs[-1])
try:
    os.read(early, 8192)
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.read(early, 8192).decode().split(',')[1] == recs[0].split(',')[1])`);
    // 1020-byte records take 1032 bytes of the ring each: at most 127 of them fit
    const [kept, ...rest] = out.split(' ');
    expect(Number(kept)).toBeGreaterThan(100);
    expect(Number(kept)).toBeLessThanOrEqual(127);
    expect(rest.join(' ')).toBe('True EAGAIN\nEPIPE\nTrue\n');
  });
});

describeMount('ioctl answers in the caller\'s memory', () => {
  // kernel: put_user() in blkdev_ioctl(): EFAULT and nothing written where the process could not write
  test('BLKSSZGET and BLKGETSIZE into read-only, PROT_NONE, program text or half-unmapped memory: EFAULT, memory unchanged', () => {
    const r = sh(`'${probe}' '${m.mnt}/dev/nvme0n1'`);
    expect(r.stdout).toBe(['read-only EFAULT intact', 'prot-none EFAULT intact', 'text EFAULT intact', 'straddling EFAULT intact', 'writable ok 512', ''].join('\n'));
  });
});
