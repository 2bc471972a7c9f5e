// A seeded fuzz run against a mount: 4 processes write random and mutated
// input to every writable file and issue random ioctls on every kind of node.
// The daemon must keep answering (a stat after each batch), answer every
// request within 2 s, keep its memory, and refuse only with errnos the kernel
// can return for that file (./fuzz/writable-files.ts, native-notes/writable-files.md).
// P2PEMU_FUZZ_SEED and P2PEMU_FUZZ_SECONDS change the run.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount, mountTopology, sh, type Mount } from './helpers.js';
import { IOCTL_CLASSES, WRITABLE_CLASSES } from './fuzz/writable-files.js';

const SEED = Number(process.env.P2PEMU_FUZZ_SEED ?? 16);
const SECONDS = Number(process.env.P2PEMU_FUZZ_SECONDS ?? 30);
const WORKERS = 4;
/** errnos a failed open may see: the file went with its device */
const OPEN_ERRNOS = ['ENOENT', 'ENODEV'];
/** a non-blocking /dev/kmsg reader: a record too big for the buffer, the ring overtook it, nothing new */
const KMSG_READ_ERRNOS = ['EINVAL', 'EPIPE', 'EAGAIN'];

let m: Mount;
beforeAll(() => {
  if (canMount()) m = mountTopology();
});
afterAll(() => m?.unmount());

const rssKb = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

interface WorkerReport {
  counts: Record<string, number>;
  slowest: { ms: number; what: string };
  batches: number;
  statMaxMs: number;
  violations: string[];
}

function runWorker(plan: object): Promise<WorkerReport> {
  return new Promise((res, rej) => {
    const child = spawn('python3', [join(__dirname, 'fuzz/fuzz-worker.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // a worker stuck in a request past the run's end is a hang: stop it (only this child, by pid)
    const timer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) res(JSON.parse(out) as WorkerReport);
      else rej(new Error(`fuzz worker exited ${code}: ${err.slice(-2000)}`));
    });
    child.stdin.end(JSON.stringify(plan));
  });
}

describeMount('the daemon under fuzzing', () => test(
  `${WORKERS} processes fuzzing every writable file and ioctl for ${SECONDS} s: the daemon answers, within 2 s, with kernel errnos, in bounded memory`,
  async () => {
    const files = sh(`cd '${m.mnt}' && find sys dev -type f -perm /222`).stdout.split('\n').filter(Boolean).map((f) => `${m.mnt}/${f}`);
    const classify = <T extends { name: string; path: RegExp }>(classes: T[], f: string) => classes.find((c) => c.path.test(f.slice(m.mnt.length)))?.name;
    const writable = files.map((path) => ({ path, cls: classify(WRITABLE_CLASSES, path) }));
    // every writable file of the mount has a row in the table
    expect(writable.filter((f) => !f.cls).map((f) => f.path)).toEqual([]);
    const all = sh(`cd '${m.mnt}' && find sys/devices sys/kernel dev -type f`).stdout.split('\n').filter(Boolean).map((f) => `${m.mnt}/${f}`);
    const ioctls = all.map((path) => ({ path, cls: classify(IOCTL_CLASSES, path) })).filter((f) => f.cls);
    expect(new Set(ioctls.map((f) => f.cls)).size).toBe(IOCTL_CLASSES.length);
    const bdfs = sh(`ls '${m.sysfs}/devices'`).stdout.split('\n').filter(Boolean);
    const classes = Object.fromEntries(
      WRITABLE_CLASSES.map((c) => [c.name, { seeds: c.seeds, binary: !!c.binary, stateful: !!c.stateful, destructive: !!c.destructive }]),
    );
    const plan = (seed: number) => ({
      mount: m.mnt,
      seed,
      seconds: SECONDS,
      destructiveAfter: 0.75,
      batch: 40,
      files: writable,
      classes,
      ioctls,
      bdfs,
      names: ['nvme0', 'accel0', 'p2pmem0', 'nic0', 'sw0', 'nvme', 'p2pmem_pci', 'p2pemu_accel', 'mlx5_core', 'pcieport'],
      statPath: `${m.sysfs}/devices/0000:81:00.0/p2pmem/allocate`,
    });

    const rssBefore = rssKb(m.pid);
    const reports = await Promise.all(Array.from({ length: WORKERS }, (_, i) => runWorker(plan(SEED * 100 + i))));
    const rssAfter = rssKb(m.pid);

    const allowed = new Map<string, string[]>();
    for (const c of WRITABLE_CLASSES) {
      allowed.set(`${c.name}|write`, ['ok', ...c.errnos]);
      allowed.set(`${c.name}|open`, OPEN_ERRNOS);
    }
    for (const c of IOCTL_CLASSES) {
      allowed.set(`${c.name}|ioctl:writable`, ['ok', ...c.errnos]);
      // FUSE copies an argument in or out for the command's size: a bad pointer can be EFAULT anywhere
      allowed.set(`${c.name}|ioctl:bad-pointer`, ['ok', 'EFAULT', ...c.errnos]);
      allowed.set(`${c.name}|open`, OPEN_ERRNOS);
    }
    allowed.set('dev/kmsg|read', ['ok', ...KMSG_READ_ERRNOS]);
    allowed.set('stat|stat', ['ENOENT']);

    const seen = new Map<string, number>();
    for (const r of reports) for (const [k, n] of Object.entries(r.counts)) seen.set(k, (seen.get(k) ?? 0) + n);
    if (process.env.P2PEMU_FUZZ_VERBOSE) console.log([...seen].sort().map(([k, n]) => `${k} ${n}`).join('\n'), reports.map((r) => [r.batches, r.slowest, r.statMaxMs]), rssBefore, rssAfter);
    const unexpected = [...seen].filter(([k]) => {
      const [cls, op, result] = k.split('|');
      return !allowed.get(`${cls}|${op}`)?.includes(result!);
    });
    expect(unexpected).toEqual([]);
    // the run reached every class of file and node
    for (const c of WRITABLE_CLASSES) expect([...seen.keys()].some((k) => k.startsWith(`${c.name}|write|`)), c.name).toBe(true);
    for (const c of IOCTL_CLASSES) expect([...seen.keys()].some((k) => k.startsWith(`${c.name}|ioctl`)), c.name).toBe(true);
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
    for (const r of reports) expect(r.batches).toBeGreaterThan(2);
    const slowest = reports.map((r) => r.slowest).reduce((a, b) => (b.ms > a.ms ? b : a));
    expect(slowest.ms, slowest.what).toBeLessThan(2000);
    expect(rssAfter - rssBefore).toBeLessThan(50 * 1024);
  },
  (SECONDS + 60) * 1000,
));
