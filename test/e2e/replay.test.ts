// Replaying real machines: p2pemu record on the machine running the tests
// (compared with its own lspci, never with hard-coded devices) and p2pemu
// import of real and constructed lspci dumps (test/data/dumps).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CLI, LSPCI, mountTopology, p2pemu, ROOT, sh, tempDir, type Mount, describeMount } from './helpers.js';
import { lspciBoth, normalizeLspci } from './lspci-compare.js';

const DUMPS = join(ROOT, 'test/data/dumps');
const work = tempDir('p2pemu-replay-');

/** The dump as lspci -F wants it (uncompressed) and its import as a topology file. */
function importDump(name: string, ...opts: string[]): { dump: string; topology: string; stderr: string } {
  const dump = join(work, name.replace(/\.gz$/, ''));
  writeFileSync(dump, gunzipSync(readFileSync(join(DUMPS, name))));
  const topology = `${dump}.yaml`;
  const r = p2pemu('import', join(DUMPS, name), '--out', topology, ...opts);
  if (r.code !== 0) throw new Error(`import failed (${r.code}): ${r.stderr}`);
  return { dump, topology, stderr: r.stderr };
}

let diffs = 0;
/** The lines `diff` prints for two texts (files: the texts are larger than one argument may be). */
function diffLines(a: string, b: string): string[] {
  const [fa, fb] = [`${work}/diff-${++diffs}.a`, `${work}/diff-${diffs}.b`];
  writeFileSync(fa, a);
  writeFileSync(fb, b);
  const r = sh(`diff '${fa}' '${fb}'`);
  if (r.code > 1) throw new Error(`diff failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => /^[<>]/.test(l));
}

describeMount('record this machine, mount the recording, compare lspci', () => {
  let m: Mount;
  let topology: string;
  beforeAll(() => {
    topology = join(work, 'this-machine.yaml');
    const r = p2pemu('record', '--out', topology);
    if (r.code !== 0) throw new Error(`record failed (${r.code}): ${r.stderr}`);
    m = mountTopology(topology);
  });
  afterAll(() => m?.unmount());

  // native-notes/replay.md: no line may differ on a recorded machine
  test.each(['-tv', '-vvv -xxxx', '-nn -k'])('lspci %s of the machine and of the mount are the same', (args) => {
    const host = sh(`lspci ${args} 2>/dev/null`).stdout;
    expect(host.length).toBeGreaterThan(0);
    expect(diffLines(host, LSPCI(m, args))).toEqual([]);
  });

  test('the machine’s topology gets the kernel’s P2P decisions: explain runs on any two recorded functions', () => {
    const fns = sh(`lspci -D -n | awk '$2 !~ /^06/ {print $1}'`).stdout.trim().split('\n');
    const [a, b] = [fns[0]!, fns[fns.length - 1]!];
    const r = p2pemu('explain', a, b, '--topology', topology);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^result: (BUS_ADDR|THRU_HOST_BRIDGE|NOT_SUPPORTED), distance \d+$/m);
  });
});

describeMount('record a mounted machine with switches, ACS and VFs (--sysfs), mount the recording', () => {
  let source: Mount;
  let copy: Mount;
  let recorded: string;
  const sourceYaml = join(DUMPS, 'sriov-switch-constructed.yaml');
  beforeAll(() => {
    source = mountTopology(sourceYaml);
    recorded = join(work, 'recorded-mount.yaml');
    const r = p2pemu('record', '--sysfs', `${source.mnt}/sys`, '--out', recorded);
    if (r.code !== 0) throw new Error(`record failed (${r.code}): ${r.stderr}`);
    copy = mountTopology(recorded);
  });
  afterAll(() => {
    copy?.unmount();
    source?.unmount();
  });

  test.each(['-tv', '-vvv -xxxx', '-nn -k'])('lspci %s of the two mounts is the same', (args) => {
    const a = LSPCI(source, args);
    expect(a).toMatch(/Virtual Function/);
    expect(diffLines(a, LSPCI(copy, args))).toEqual([]);
  });

  test('the recording gets the same P2P decisions, VFs included', () => {
    const providers = ['--providers', '03:00.1,04:00.1,05:00.0,07:00.0'];
    const m1 = p2pemu('topo', '--matrix', '--topology', sourceYaml, ...providers).stdout;
    const m2 = p2pemu('topo', '--matrix', '--topology', recorded, ...providers).stdout;
    // the names differ (the recording names functions by class); the cells must not
    const cells = (t: string) => t.split('\n').slice(1).filter((l) => / \d\d:\d\d\.\d /.test(l)).map((l) => l.split(/\s{2,}/).slice(1).join(' '));
    expect(cells(m2)).toEqual(cells(m1));
    expect(cells(m1).length).toBeGreaterThan(10);
  });
});

describeMount('record reads, never writes, and needs root for whole config spaces', () => {
  test('every /sys file it opens is opened read-only', () => {
    const log = join(work, 'strace.log');
    const r = sh(`strace -f -qq -e trace=openat,open,creat,truncate -o '${log}' '${process.execPath}' '${CLI}' record --out '${join(work, 'strace.yaml')}'`);
    expect(r.code).toBe(0);
    const sysOpens = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"/sys/'));
    expect(sysOpens.some((l) => /\/config", O_RDONLY/.test(l))).toBe(true);
    expect(sysOpens.filter((l) => /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|truncate|creat\(/.test(l))).toEqual([]);
  });

  test('as another user: exit 2 naming the 64-byte limit; --partial records what that user can read', () => {
    const asNobody = `setpriv --reuid=65534 --regid=65534 --clear-groups '${process.execPath}' '${CLI}' record`;
    const refused = sh(`${asNobody} --out /dev/null`);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/reading config space needs root: \d+ of \d+ functions gave only their first 64 bytes/);
    const partial = sh(`${asNobody} --partial`);
    expect(partial.code).toBe(0);
    expect(partial.stderr).toMatch(/not root: config space of \d+ functions is cut to 64 bytes/);
    expect(partial.stdout).toMatch(/config_size: 64/);
  });
});

describeMount('import a real machine’s dump: ASUS P6T6 (X58 root ports with ACS, NF200 switch)', () => {
  let m: Mount;
  let d: ReturnType<typeof importDump>;
  beforeAll(() => {
    d = importDump('asus-p6t6.lspci.gz');
    m = mountTopology(d.topology);
  });
  afterAll(() => m?.unmount());

  test('import warns once, naming what it assumed', () => {
    expect(d.stderr.trim().split('\n')).toHaveLength(1);
    expect(d.stderr).toMatch(/a dump does not say: the CPU .*; the NUMA layout .*; \d+ BAR sizes/);
  });

  test.each(['-tv', '-xxxx', '-nn'])('lspci -F DUMP %s equals lspci on the mount', (args) => {
    const { dump, mount } = lspciBoth(d.dump, m.sysfs, args);
    expect(dump.length).toBeGreaterThan(1000);
    expect(diffLines(dump, mount)).toEqual([]);
  });

  test('lspci -vvv equal except the sysfs-only lines of native-notes/replay.md', () => {
    const { dump, mount } = lspciBoth(d.dump, m.sysfs, '-vvv');
    expect(diffLines(normalizeLspci(dump), normalizeLspci(mount))).toEqual([]);
  });

  test('explain: the SAS controller behind the NF200 and the GPU under another root port meet only at the X58, which is not whitelisted', () => {
    const r = p2pemu('explain', '04:00.0', '06:00.0', '--topology', d.topology);
    expect(r.stdout).toMatch(/no common upstream bridge/);
    expect(r.stdout).toMatch(/host bridge: refused: 0000:00:00\.0 \[8086:3405\] is not on the whitelist/);
    expect(r.stdout).toMatch(/^result: NOT_SUPPORTED, distance 6$/m);
    // an AMD Zen CPU allows any host-bridge path: the decision follows --cpu
    const amd = importDump('asus-p6t6.lspci.gz', '--cpu', 'AuthenticAMD:0x19');
    expect(p2pemu('explain', '04:00.0', '06:00.0', '--topology', amd.topology).stdout).toMatch(/^result: THRU_HOST_BRIDGE, distance 6$/m);
  });
});

describeMount('import an SR-IOV PF (Intel 82576, one VF enabled) and drive sriov_numvfs', () => {
  let m: Mount;
  let d: ReturnType<typeof importDump>;
  beforeAll(() => {
    d = importDump('intel-82576-sriov.lspci.gz');
    m = mountTopology(d.topology);
  });
  afterAll(() => m?.unmount());
  const pf = (f: string) => `${m.sysfs}/devices/0000:01:00.0/${f}`;
  const cat = (...files: string[]) => sh(`cat ${files.map((f) => `'${pf(f)}'`).join(' ')}`).stdout;

  test('the enabled VF exists where offset 384 and stride 2 put it, linked both ways', () => {
    expect(cat('sriov_totalvfs', 'sriov_numvfs', 'sriov_offset', 'sriov_stride', 'sriov_vf_device')).toBe('8\n1\n384\n2\n10ca\n');
    expect(sh(`readlink '${pf('virtfn0')}'; readlink '${m.sysfs}/devices/0000:02:10.0/physfn'`).stdout).toBe('../0000:02:10.0\n../0000:01:00.0\n');
    expect(LSPCI(m, '-s 02:10.0')).toMatch(/^02:10\.0 Ethernet controller: Intel Corporation 82576 Virtual Function \(rev 01\)$/m);
    // the PF itself: lspci -F and the mount agree on everything the dump holds
    const { dump, mount } = lspciBoth(d.dump, m.sysfs, '-vvv -s 01:00.0');
    expect(diffLines(normalizeLspci(dump), normalizeLspci(mount))).toEqual([]);
    // what the dump's -v text said and lspci -F cannot show comes back from sysfs
    expect(mount).toMatch(/^\tKernel driver in use: igb$/m);
    expect(mount).toMatch(/^\tRegion 1: Memory at e0000000 \(32-bit, non-prefetchable\) \[size=4M\]$/m);
  });

  test('sriov_numvfs: EBUSY for another count while enabled, 0 then N, ERANGE past TotalVFs, EINVAL for what is not a u16', () => {
    const write = (n: number) => sh(`echo ${n} > '${pf('sriov_numvfs')}'`);
    expect(write(2).stderr).toMatch(/Device or resource busy/);
    expect(write(0).code).toBe(0);
    expect(sh(`ls -d '${m.sysfs}/devices/0000:02:10.0' 2>&1`).code).not.toBe(0);
    expect(write(3).code).toBe(0);
    expect(LSPCI(m, '-n -d 8086:10ca')).toMatch(/^02:10\.0 .*\n02:10\.2 .*\n02:10\.4 /);
    expect(sh(`readlink '${pf('virtfn2')}'`).stdout).toBe('../0000:02:10.4\n');
    expect(write(9).stderr).toMatch(/Numerical result out of range/);
    // kstrtou16() failing, on a number too large for 16 bits too, is EINVAL
    expect(write(70000).stderr).toMatch(/Invalid argument/);
    expect(sh(`echo many > '${pf('sriov_numvfs')}'`).stderr).toMatch(/Invalid argument/);
    expect(cat('sriov_numvfs')).toBe('3\n');
  });
});

describeMount('import the constructed SR-IOV dump: VFs under a switch and under root ports', () => {
  let d: ReturnType<typeof importDump>;
  let m: Mount;
  beforeAll(() => {
    d = importDump('sriov-switch-constructed.lspci.gz');
    m = mountTopology(d.topology);
  });
  afterAll(() => m?.unmount());

  test('lspci -F DUMP -xxxx equals lspci on the mount but for the VFs’ names (their config says ffff:ffff, sysfs the kernel’s IDs)', () => {
    const { dump, mount } = lspciBoth(d.dump, m.sysfs, '-xxxx');
    const diff = diffLines(dump, mount);
    const vfName = /^[<>] 0[347]:00\.[0-4] Ethernet controller: (Illegal Vendor ID Device ffff|Mellanox Technologies ConnectX Family mlx5Gen Virtual Function)$/;
    expect(diff.filter((l) => !vfName.test(l))).toEqual([]);
    expect(diff).toHaveLength(2 * 8);
  });

  test('lspci -tv on the mount puts VFs beside their PF, those on a virtual bus too (sysfs parent = the PF’s parent)', () => {
    const tree = LSPCI(m, '-tv');
    expect(tree).toMatch(/-02\.0-\[06-07\]--\+-00\.0  Mellanox Technologies MT2892 Family \[ConnectX-6 Dx\]\n.*\+-00\.0  Mellanox .* Virtual Function\n.*\\-00\.1  Mellanox .* Virtual Function/);
    expect(tree.match(/Virtual Function/g)).toHaveLength(8);
  });

  test('topo --matrix: VF↔VF and VF↔PF switch-local, through the host bridge with ACS redirect or across root ports', () => {
    const r = p2pemu('topo', '--matrix', '--topology', d.topology, '--providers', '03:00.1,04:00.1,05:00.0,06:00.0');
    expect(r.code).toBe(0);
    const row = (bdf: string) => r.stdout.split('\n').find((l) => l.includes(` ${bdf} `) || l.includes(` ${bdf}  `))!;
    // columns: 03:00.1 (VF, port without redirect), 04:00.1 (VF, port with redirect), 05:00.0 (NVMe), 06:00.0 (PF, root port)
    expect(row('03:00.2').split(/\s{2,}/).slice(1)).toEqual(['BUS(2)', 'HB(4)', 'BUS(4)', 'HB(6)']);
    expect(row('04:00.2').split(/\s{2,}/).slice(1)).toEqual(['HB(4)', 'HB(2)', 'HB(4)', 'HB(6)']);
    expect(row('07:00.1').split(/\s{2,}/).slice(1)).toEqual(['HB(6)', 'HB(6)', 'HB(6)', 'BUS(2)']);
  });

  test('explain names the ACS redirect on the VFs’ switch port', () => {
    const r = p2pemu('explain', '04:00.2', '04:00.1', '--topology', d.topology);
    expect(r.stdout).toMatch(/nearest common upstream: 0000:02:01\.0 .*; distance 2/);
    expect(r.stdout).toMatch(/ACS: redirect \(RR, CR or EC\) set on 0000:02:01\.0/);
    expect(r.stdout).toMatch(/^result: THRU_HOST_BRIDGE, distance 2$/m);
  });
});
