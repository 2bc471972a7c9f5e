// Unmodified fio with its asynchronous engines (libaio: io_submit; io_uring)
// on the emulated namespaces, its buffers in p2pmem/allocate
// (--mem=mmapshared): a pair the kernel refuses fails with EREMOTEIO in the
// completion, an allowed pair moves (and verifies) its bytes on the P2P path,
// and nothing is counted as host memory.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount, mountTopology, ROOT, sh, tempDir, type Mount } from './helpers.js';

let m: Mount;
let forgetful: string;
beforeAll(() => {
  if (!canMount()) return;
  m = mountTopology();
  forgetful = `${tempDir('p2pemu-aio-')}/aio-forget-iocb`;
  const r = sh(`gcc -O2 -o '${forgetful}' '${ROOT}/test/e2e/c/aio-forget-iocb.c'`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => m?.unmount());

const ALLOCATE = (bdf: string) => `${m.mnt}/sys/bus/pci/devices/${bdf}/p2pmem/allocate`;
const NVME0 = '0000:03:00.0';
const NVME2 = '0000:06:00.0';
/** nvme1's CMB: switch-local to nvme0, behind a path nvme2 cannot take */
const CMB = '0000:04:00.0';

/** debugfs transfers as { "client|provider|path": {reads, writes, bytes} } */
function transfers(): Map<string, { reads: number; writes: number; bytes: number }> {
  const out = new Map<string, { reads: number; writes: number; bytes: number }>();
  for (const line of readFileSync(`${m.mnt}/sys/kernel/debug/p2pemu/transfers`, 'utf8').split('\n')) {
    const f = /^(\S+)\s+(host memory|\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(line);
    if (f) out.set(`${f[1]}|${f[2]}|${f[3]}`, { reads: Number(f[4]), writes: Number(f[5]), bytes: Number(f[6]) });
  }
  return out;
}

/** What changed on each row between two readings. */
function delta(before: ReturnType<typeof transfers>, after: ReturnType<typeof transfers>) {
  const get = (key: string) => {
    const a = after.get(key) ?? { reads: 0, writes: 0, bytes: 0 };
    const b = before.get(key) ?? { reads: 0, writes: 0, bytes: 0 };
    return { reads: a.reads - b.reads, writes: a.writes - b.writes, bytes: a.bytes - b.bytes };
  };
  return get;
}

const fio = (args: string) => sh(`timeout 60 fio --name=t --direct=1 --bs=64k --iodepth=4 ${args} 2>&1`);

describeMount('fio with libaio and io_uring into P2P memory', () => {
  test.each(['libaio', 'io_uring', 'io_uring --sqthread_poll=1'])('%s: nvme2n1 into the CMB of nvme1 fails with Remote I/O error and is counted refused', (engine) => {
    const before = transfers();
    // SQPOLL: a kernel thread submits, the files are registered (fio registers them for it)
    const r = fio(`--ioengine=${engine} --filename=${m.mnt}/dev/nvme2n1 --rw=read --size=1m --mem=mmapshared:${ALLOCATE(CMB)}`);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('Remote I/O error');
    const d = delta(before, transfers());
    expect(d(`${NVME2}|${CMB}|refused`).reads).toBeGreaterThan(0);
    expect(d(`${NVME2}|host memory|host`).reads).toBe(0);
  });

  test.each(['libaio', 'io_uring'])('%s: nvme0n1 writes and reads back (verified) through the CMB of nvme1, switch-local, none as host memory', (engine) => {
    const before = transfers();
    const size = 2 << 20;
    const r = fio(`--ioengine=${engine} --filename=${m.mnt}/dev/nvme0n1 --rw=write --size=${size} --verify=crc32c --do_verify=1 --verify_state_save=0 --mem=mmapshared:${ALLOCATE(CMB)}`);
    expect(r.code, r.stdout).toBe(0);
    const d = delta(before, transfers());
    const p2p = d(`${NVME0}|${CMB}|p2p-switch`);
    const unclassified = d(`${NVME0}|unknown|unclassified`);
    expect(d(`${NVME0}|host memory|host`).bytes).toBe(0);
    expect(unclassified.bytes).toBe(0);
    expect(p2p).toEqual({ reads: 32, writes: 32, bytes: 2 * size });
  });

  test('an AIO caller that wipes its iocbs once submitted: its reads succeed, counted unclassified (not host memory), one warning for the process', () => {
    const before = transfers();
    const r = sh(`'${forgetful}' '${m.mnt}/dev/nvme0n1' '${ALLOCATE(CMB)}' 8`);
    expect(r.stdout).toContain(`done ${8 * 65536}`);
    const pid = Number(/pid (\d+)/.exec(r.stdout)![1]);
    const d = delta(before, transfers());
    const unclassified = d(`${NVME0}|unknown|unclassified`);
    // the daemon may catch an iocb before it is wiped: those are P2P, never host memory
    expect(unclassified.reads).toBeGreaterThan(0);
    expect(unclassified.bytes + d(`${NVME0}|${CMB}|p2p-switch`).bytes).toBe(8 * 65536);
    expect(d(`${NVME0}|host memory|host`).bytes).toBe(0);
    const warnings = readFileSync(`${m.state}/daemon.log`, 'utf8')
      .split('\n')
      .filter((l) => l.includes('counted as unclassified'))
      .map((l) => JSON.parse(l) as { caller: number; why: string })
      .filter((w) => w.caller === pid);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.why).toMatch(/^libaio:/);
  });
});
