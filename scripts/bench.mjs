#!/usr/bin/env node
// make bench: throughput, latency and memory figures of the FUSE session, each
// against a baseline measured in the same run (the two interleaved, the median
// of BENCH_RUNS, default 3, taken of each). Prints a table with each figure's
// target and whether it was met (a missed target is reported, never a
// failure), and writes bench-results.json: [{ name, value, unit, baseline,
// ratio, target, met }]. BENCH_ONLY=bar,nvme,p2p,memory,run,big,transport,profile,model runs only
// those sections (native-notes/performance.md says what each measures);
// BENCH_READERS=N mounts with --readers N, BENCH_TRANSPORT=T with
// --transport T; BENCH_CLI=PATH/bin/p2pemu.js
// measures another build's daemon (an older commit: the "before" figures).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, cpuPerRequest, GIB, helper, median, memfdPath, memoryOf, mount, notes, paired, peakMemoryDuring, record, results, ROOT, RUNS, secs, section, sh, unmount } from './bench/lib.mjs';

const work = mkdtempSync(join(tmpdir(), 'p2pemu-bench-bin-'));

if (section('bar')) {
  const dir = mkdtempSync(join(tmpdir(), 'p2pemu-bench-'));
  const mnt = join(dir, 'mnt');
  sh(`mkdir -p '${mnt}'`);
  const topology = join(dir, 'bench.yaml');
  writeFileSync(
    topology,
    `name: bench
host_bridges:
  - vendor: 0x8086
    device: 0x2020
    children:
      - kind: root_port
        slot: "01.0"
        children:
          - kind: accelerator
            name: accel0
            bars: [{ index: 0, size: 16MiB, bits: 32 }, { index: 1, size: 1GiB }]
`,
  );
  let pid;
  try {
    pid = mount(mnt, ['--topology', topology, '--state', join(dir, 'state')]);
    const served = join(mnt, 'sys/bus/pci/devices/0000:01:00.0/resource1');
    const count = GIB >> 20;
    // Writes first, so the reads below move real pages, not holes. resourceN
    // refuses O_DIRECT like any sysfs file (EINVAL): buffered I/O here, O_DIRECT on
    // the namespaces below.
    sh(`dd if=/dev/zero of='${served}' bs=1M count=${count} conv=notrunc,fsync status=none`);
    // the raw baseline: the BAR's own memfd (created at its first use), opened again through the daemon's fd table
    const raw = memfdPath(pid, 'p2pemu:0000:01:00.0-bar1');
    const ddw = (f) => () => secs(`dd if=/dev/zero of='${f}' bs=1M count=${count} conv=notrunc,fsync status=none`);
    const [wServed, wRaw] = paired(ddw(served), ddw(raw));
    record('seq 1MiB buffered write + fsync, 1 GiB through the mount', 1 / wServed, 'GiB/s', 1 / wRaw);
    const ddr = (f) => () => secs(`dd if='${f}' of=/dev/null bs=1M count=${count} status=none`);
    const [bServed, bRaw] = paired(ddr(served), ddr(raw));
    record('seq 1MiB buffered read, 1 GiB through the mount', 1 / bServed, 'GiB/s', 1 / bRaw, { ratio: 0.5 });
    notes.push('seq 1MiB O_DIRECT read/write through resource1 (the issue-13 table\'s third row) cannot be measured since resourceN refuses O_DIRECT as sysfs does (7060d27): the namespace rows measure the O_DIRECT data path');

    // allocate: first touch and second pass of a 256 MiB mapping, against anonymous shared memory
    const touch = helper(work, 'scripts/bench/touch.c');
    const allocate = join(mnt, 'sys/bus/pci/devices/0000:01:00.0/p2pmem/allocate');
    const pass = (target) => () => sh(`'${touch}' '${target}' 256`).trim().split(' ').map(Number);
    const a = [];
    const n = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(pass(allocate)());
      n.push(pass('anon')());
    }
    record('allocate 256 MiB mapping: first touch', 0.25 / median(a.map((x) => x[0])), 'GiB/s', 0.25 / median(n.map((x) => x[0])));
    record('allocate 256 MiB mapping: second pass', 0.25 / median(a.map((x) => x[1])), 'GiB/s', 0.25 / median(n.map((x) => x[1])));

    const entries = Number(sh(`find '${mnt}' | wc -l`).trim());
    record(`find MNT | wc -l (${entries} entries)`, median(Array.from({ length: RUNS }, () => secs(`find '${mnt}' | wc -l`))) * 1000, 'ms', null);
    const lspci = `lspci -A linux-sysfs -O sysfs.path='${mnt}/sys/bus/pci' -vvv > /dev/null 2>&1`;
    record('lspci -vvv against the mount', median(Array.from({ length: RUNS }, () => secs(lspci))) * 1000, 'ms', null);
  } finally {
    unmount(mnt, pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

// NVMe namespaces of the default topology, state on tmpfs so that the raw
// baseline (the namespace's own backing file) is memory too.
if (section('nvme') || section('p2p') || section('memory') || section('run')) {
  const nv = mkdtempSync(join('/dev/shm', 'p2pemu-bench-nvme-'));
  const nvMnt = join(nv, 'mnt');
  sh(`mkdir -p '${nvMnt}'`);
  let nvPid;
  try {
    nvPid = mount(nvMnt, ['--state', join(nv, 'state')]);
    const ns = join(nvMnt, 'dev/nvme0n1');
    const ns1 = join(nvMnt, 'dev/nvme1n1');
    const raw = join(nv, 'state/namespaces/0000-03-00.0-n1.img');
    const raw1 = join(nv, 'state/namespaces/0000-04-00.0-n1.img');
    // both images written whole first: no figure pays for tmpfs allocating pages
    for (const img of [raw, raw1]) sh(`dd if=/dev/zero of='${img}' bs=1M count=1024 conv=notrunc status=none`);
    const mib = 512;
    if (section('nvme')) {
      const ddw = (f) => () => secs(`dd if=/dev/zero of='${f}' bs=1M count=${mib} oflag=direct conv=notrunc status=none`);
      const [w, wr] = paired(ddw(ns), ddw(raw));
      record('namespace seq 1MiB O_DIRECT write', mib / 1024 / w, 'GiB/s', mib / 1024 / wr, { ratio: 0.7 });
      const ddr = (f) => () => secs(`dd if='${f}' of=/dev/null bs=1M count=${mib} iflag=direct status=none`);
      const [r, rr] = paired(ddr(ns), ddr(raw));
      record('namespace seq 1MiB O_DIRECT read', mib / 1024 / r, 'GiB/s', mib / 1024 / rr, { ratio: 0.8 });
      const randio = helper(work, 'scripts/bench/randio.c');
      const iops = (path) => () => Number(sh(`'${randio}' '${path}' 4 5000`).trim());
      const cpu = [];
      const served = () => {
        const c = cpuPerRequest(nvPid, 4 * 5000, iops(ns));
        cpu.push(c);
        return c.out;
      };
      const [io, ior] = paired(served, iops(raw));
      record('namespace random 4KiB O_DIRECT read, 4 processes', io, 'IOPS', ior, { ratio: 0.2 });
      record('daemon CPU per random 4KiB read: user', median(cpu.map((c) => c.user)), 'us', null);
      record('daemon CPU per random 4KiB read: system', median(cpu.map((c) => c.sys)), 'us', null);
    }
    if (section('p2p')) {
      // P2P copy through nvme1's CMB against the same program with its buffer in anonymous memory
      const copy = helper(work, 'scripts/bench/copy.c', '-pthread');
      const cmb = join(nvMnt, 'sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate');
      const variants = [
        ['1 MiB', '', 256, { ratio: 0.6 }],
        ['4 KiB chunks', '--chunk 4096', 16, undefined],
        ['128 KiB chunks', '--chunk 131072', 128, undefined],
        ['1 MiB, 4 threads', '--threads 4', 256, undefined],
      ];
      for (const [label, args, cm, target] of variants) {
        const run = (host) => () => Number(sh(`'${copy}' ${host ? '--host' : ''} ${args} '${ns}' '${ns1}' '${cmb}' ${cm}`).trim());
        const [p2p, host] = paired(run(false), run(true));
        record(`P2P copy nvme0n1 -> CMB of nvme1 -> nvme1n1, O_DIRECT ${label}`, cm / 1024 / p2p, 'GiB/s', cm / 1024 / host, target);
      }
      // the per-request cost of the decision: daemon CPU per 4 KiB request (a read and a write per chunk)
      const requests = (16 << 20) / 4096 * 2;
      for (const host of [false, true]) {
        const c = Array.from({ length: RUNS }, () => cpuPerRequest(nvPid, requests, () => sh(`'${copy}' ${host ? '--host' : ''} --chunk 4096 '${ns}' '${ns1}' '${cmb}' 16`)));
        record(`daemon CPU per 4KiB request of the ${host ? 'host-memory' : 'P2P'} copy: user + system`, median(c.map((x) => x.user + x.sys)), 'us', null);
      }
      // a refused request (EREMOTEIO: accel0 is behind another host bridge) against an allowed one (the CMB of nvme1), one at a time
      const latency = helper(work, 'scripts/bench/p2p-latency.c');
      const accel = join(nvMnt, 'sys/bus/pci/devices/0000:81:00.0/p2pmem/allocate');
      const rate = (alloc, expect) => () => {
        const [r, how] = sh(`'${latency}' '${ns}' '${alloc}' 2000`).trim().split(' ');
        if (how !== expect) throw new Error(`p2p-latency ${alloc}: ${how}, expected ${expect}`);
        return Number(r);
      };
      const [refused, allowed] = paired(rate(accel, 'EREMOTEIO'), rate(cmb, 'ok'));
      record('refused 4KiB O_DIRECT read (EREMOTEIO) vs an allowed one, 1 at a time', refused, 'req/s', allowed, { ratio: 0.9 });
    }
    if (section('memory')) {
      // 4 processes reading a quarter of nvme0n1 each, 1 MiB O_DIRECT, twice over: the daemon's peak memory
      const load = Array.from({ length: 4 }, (_, i) => `dd if='${ns}' of=/dev/null bs=1M skip=${i * 256} count=256 iflag=direct status=none &`).join(' ');
      const peak = await peakMemoryDuring(nvPid, `for r in 1 2; do ${load} wait; done`);
      record('daemon VmRSS under 4-process O_DIRECT load', peak.rss, 'MB', null, { max: 1024 });
      record('daemon PSS (smaps_rollup) under 4-process O_DIRECT load', peak.pss, 'MB', null);
    }
    if (section('run')) {
      // p2pemu run: a program that maps no file never leaves the kernel's filter
      // (the baseline is the same dd outside run, on MNT/dev/nvme0n1); the
      // supervisor's cost shows on mmap() of allocate (inside: the allocation at
      // mmap(); outside: at the first store).
      const runIn = (cmd) => `node '${CLI}' run --mount '${nvMnt}' -- ${cmd}`;
      const ddTimes = (dev) => `bash -c 'TIMEFORMAT=%R; for i in $(seq ${RUNS}); do time dd if=${dev} of=/dev/null bs=1M count=${mib} iflag=direct status=none; done' 2>&1`;
      const medianTime = (out) => median(out.trim().split('\n').map(Number));
      const inside = medianTime(sh(runIn(ddTimes('/dev/nvme0n1'))));
      const outside = medianTime(sh(ddTimes(ns)));
      record('O_DIRECT read inside p2pemu run vs outside', mib / 1024 / inside, 'GiB/s', mib / 1024 / outside, { ratio: 0.95 });
      const cycle = helper(work, 'scripts/bench/map-cycle.c');
      const cycles = 500;
      const cmbAlloc = '/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate';
      const rate = (cmd) => () => Number(sh(cmd).trim());
      const [inRun, outRun] = paired(rate(runIn(`'${cycle}' ${cmbAlloc} ${cycles}`)), rate(`'${cycle}' '${join(nvMnt, cmbAlloc)}' ${cycles}`));
      record('allocate open+mmap+store+munmap+close inside p2pemu run', inRun, 'cycles/s', outRun);
    }
  } finally {
    unmount(nvMnt, nvPid);
    rmSync(nv, { recursive: true, force: true });
  }
}

// Mount cost of a big host: 8 accelerators with 128 GiB BARs each, all P2P memory.
if (section('big')) {
  const big = mkdtempSync(join(tmpdir(), 'p2pemu-bench-big-'));
  const bigMnt = join(big, 'mnt');
  sh(`mkdir -p '${bigMnt}'`);
  const accels = Array.from({ length: 8 }, (_, i) =>
    `      - kind: root_port\n        slot: "${(i + 1).toString(16).padStart(2, '0')}.0"\n        children:\n          - kind: accelerator\n            bars: [{ index: 0, size: 16MiB, bits: 32 }, { index: 1, size: 128GiB }]`,
  ).join('\n');
  const bigTopo = join(big, 'big.yaml');
  writeFileSync(bigTopo, `name: eight-accelerators\nhost_bridges:\n  - vendor: 0x8086\n    device: 0x2020\n    children:\n${accels}\n`);
  let bigPid;
  try {
    const t0 = process.hrtime.bigint();
    bigPid = mount(bigMnt, ['--topology', bigTopo, '--state', join(big, 'state')]);
    const secsBig = Number(process.hrtime.bigint() - t0) / 1e9;
    sh(`cat '${bigMnt}'/sys/bus/pci/devices/*/p2pmem/size > /dev/null`);
    const mem = memoryOf(bigPid);
    // the same command on the embedded default topology is the baseline
    const dMnt = join(big, 'dmnt');
    sh(`mkdir -p '${dMnt}'`);
    const d0 = process.hrtime.bigint();
    const dPid = mount(dMnt, ['--state', join(big, 'dstate')]);
    const dsecs = Number(process.hrtime.bigint() - d0) / 1e9;
    unmount(dMnt, dPid);
    record('mount 8 accelerators x 128 GiB P2P memory', secsBig, 's', dsecs, { max: 2 });
    record('daemon VmRSS with 8 x 128 GiB P2P memory', mem.rss, 'MB', null, { max: 150 });
    record('daemon PSS with 8 x 128 GiB P2P memory', mem.pss, 'MB', null);
  } finally {
    unmount(bigMnt, bigPid);
    rmSync(big, { recursive: true, force: true });
  }
}

// The FUSE transport without Node: scripts/bench/fuse-transport.c serves one
// file from memory over /dev/fuse (4 threads in read(), as p2pemu's readers)
// or over FUSE-over-io_uring (a queue per CPU); random 4 KiB O_DIRECT reads
// by 4 processes, uring against /dev/fuse, and the server's CPU per request.
if (section('transport')) {
  const enabled = (() => {
    try {
      return readFileSync('/sys/module/fuse/parameters/enable_uring', 'utf8').trim() === 'Y';
    } catch {
      return false;
    }
  })();
  const server = helper(work, 'scripts/bench/fuse-transport.c', '-pthread');
  const randio = helper(work, 'scripts/bench/randio.c');
  const dir = mkdtempSync(join(tmpdir(), 'p2pemu-bench-transport-'));
  const ops = 20000;
  const cpu = { devfuse: [], uring: [] };
  const serve = (mode) => () => {
    const child = spawn(server, [mode, dir, '256', '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      sh(`for i in $(seq 100); do grep -qF ' ${dir} ' /proc/self/mountinfo && break; sleep 0.05; done`);
      const c = cpuPerRequest(child.pid, 4 * ops, () => Number(sh(`timeout 60 '${randio}' '${dir}/data' 4 ${ops}`).trim()));
      cpu[mode].push(c);
      return c.out;
    } finally {
      child.kill('SIGTERM');
      sh(`for i in $(seq 100); do grep -qF ' ${dir} ' /proc/self/mountinfo || break; sleep 0.05; done`);
    }
  };
  try {
    if (!enabled) notes.push('transport: /sys/module/fuse/parameters/enable_uring is not Y (or fuse has no io_uring): only /dev/fuse measured');
    let u = null;
    let d;
    if (enabled) {
      try {
        [u, d] = paired(serve('uring'), serve('devfuse'));
      } catch (err) {
        notes.push(`transport: io_uring failed (${String(err.message).split('\n')[0]}): only /dev/fuse measured`);
        cpu.uring = [];
      }
    }
    if (u !== null) record('C server random 4KiB O_DIRECT read, 4 processes: io_uring vs /dev/fuse', u, 'IOPS', d, { ratio: 1.3 });
    else record('C server random 4KiB O_DIRECT read, 4 processes, /dev/fuse', median(Array.from({ length: RUNS }, serve('devfuse'))), 'IOPS', null);
    for (const mode of ['devfuse', 'uring'].filter((m) => cpu[m].length > 0)) {
      const c = cpu[mode];
      record(`C server CPU per random 4KiB read over ${mode === 'uring' ? 'io_uring' : '/dev/fuse'}: user + system`, median(c.map((x) => x.user + x.sys)), 'us', null);
    }
  } finally {
    try { sh(`umount -l '${dir}' 2>/dev/null`); } catch { /* unmounted */ }
    rmSync(dir, { recursive: true, force: true });
  }
}

// p2pemu itself over both transports (mount --transport uring / devfuse):
// random 4 KiB O_DIRECT reads of nvme0n1 by 4 processes, the two mounts up
// side by side and measured interleaved, and the daemon's CPU per request.
if (section('transport')) {
  const randio = helper(work, 'scripts/bench/randio.c');
  const dir = mkdtempSync(join('/dev/shm', 'p2pemu-bench-uring-'));
  const mounts = {};
  const cpu = { devfuse: [], uring: [] };
  try {
    for (const t of ['devfuse', 'uring']) {
      const mnt = join(dir, `mnt-${t}`);
      sh(`mkdir -p '${mnt}'`);
      mounts[t] = { mnt, pid: mount(mnt, ['--state', join(dir, `state-${t}`), '--transport', t]) };
    }
    const ops = 20000;
    const run = (t) => () => {
      const c = cpuPerRequest(mounts[t].pid, 4 * ops, () => Number(sh(`timeout 60 '${randio}' '${mounts[t].mnt}/dev/nvme0n1' 4 ${ops}`).trim()));
      cpu[t].push(c);
      return c.out;
    };
    const [u, d] = paired(run('uring'), run('devfuse'));
    record('p2pemu random 4KiB O_DIRECT read, 4 processes: --transport uring vs devfuse', u, 'IOPS', d, { ratio: 1.3 });
    for (const t of ['devfuse', 'uring']) record(`daemon CPU per random 4KiB read over ${t === 'uring' ? 'io_uring' : '/dev/fuse'}: user + system`, median(cpu[t].map((x) => x.user + x.sys)), 'us', null);
  } catch (err) {
    notes.push(`transport: p2pemu over io_uring not measured (${String(err.message).split('\n')[0]})`);
  } finally {
    for (const { mnt, pid } of Object.values(mounts)) unmount(mnt, pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

// Where a reader thread's time goes per request (P2PEMU_PROFILE, src/fuse/reader-profile.ts):
// random 4 KiB reads into host memory, and the 4 KiB-chunk P2P copy whose
// O_DIRECT requests are decided in the readers. 'wait' includes idle time.
if (section('profile')) {
  const pr = mkdtempSync(join('/dev/shm', 'p2pemu-bench-profile-'));
  const prMnt = join(pr, 'mnt');
  sh(`mkdir -p '${prMnt}'`);
  const randio = helper(work, 'scripts/bench/randio.c');
  const copy = helper(work, 'scripts/bench/copy.c', '-pthread');
  const workloads = [
    ['random 4KiB read', (m) => sh(`'${randio}' '${m}/dev/nvme0n1' 1 20000`)],
    ['P2P copy 4KiB chunks', (m) => sh(`'${copy}' --chunk 4096 '${m}/dev/nvme0n1' '${m}/dev/nvme1n1' '${m}/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate' 16`)],
    ['P2P copy 1MiB chunks', (m) => sh(`'${copy}' '${m}/dev/nvme0n1' '${m}/dev/nvme1n1' '${m}/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate' 256`)],
    ['host-memory copy 1MiB chunks', (m) => sh(`'${copy}' --host '${m}/dev/nvme0n1' '${m}/dev/nvme1n1' '${m}/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate' 256`)],
  ];
  try {
    for (const [label, run] of workloads) {
      const file = join(pr, `${label.replace(/\W+/g, '-')}.jsonl`);
      let pid;
      try {
        // one reader, one request in flight: the phases are the request's latency, not threads waiting for a core
        pid = mount(prMnt, ['--state', join(pr, 'state'), '--readers', '1'], { ...process.env, P2PEMU_PROFILE: file });
        run(prMnt);
      } finally {
        unmount(prMnt, pid);
      }
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const requests = lines.reduce((a, l) => a + l.requests, 0);
      const phases = {};
      for (const l of lines) for (const [k, v] of Object.entries(l.us)) phases[k] = (phases[k] ?? 0) + v;
      for (const k of ['wait', 'decode', 'classify', 'data', 'reply', 'handoff']) {
        if (phases[k] !== undefined) record(`reader time per request, ${label}: ${k}`, phases[k] / requests, 'us', null);
      }
      const handedOn = lines.reduce((n, l) => n + (l.laps.handoff ?? 0), 0);
      record(`requests handed to the main thread, ${label}`, (100 * handedOn) / requests, '%', null);
      const byOp = {};
      for (const l of lines) for (const [op, n] of Object.entries(l.handedOn)) byOp[op] = (byOp[op] ?? 0) + n;
      notes.push(`profile, ${label}: handed to the main thread by opcode: ${Object.entries(byOp).sort((x, y) => y[1] - x[1]).map(([op, n]) => `${op} ${n}`).join(', ') || 'none'}`);
    }
  } finally {
    rmSync(pr, { recursive: true, force: true });
  }
}

// Model cost of mapping 32 GiB of P2P memory under each folio policy (no mount:
// this is the kernel-model work the daemon does at a first fault).
if (section('model')) {
  const { parseTopology } = await import(join(ROOT, 'dist/config/parse-topology.js'));
  const { bootHostModel } = await import(join(ROOT, 'dist/model/host-model.js'));
  const policies = [
    ['base', '', { max: 50 }],
    ['device-align 2 MiB', ', folios: device-align, align: 2MiB', undefined],
    ['device-align 1 GiB', ', folios: device-align, align: 1GiB', { max: 1 }],
    ['best-effort 1 GiB', ', folios: best-effort, align: 1GiB', { max: 1 }],
  ];
  for (const [label, folios, target] of policies) {
    const m = bootHostModel(
      parseTopology('bench', `host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children: [{ kind: accelerator, name: a, p2pmem: { bar: 1${folios} } }]\n`),
    );
    const dev = m.pci.find('a');
    const times = [];
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const a = m.p2pdma.allocMmap(dev, { len: 32 * GIB, pgoff: 0, shared: true, pid: 1, comm: 'bench', va: 0x7e00_0000_0000 });
      m.p2pdma.freeMmap(a);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    record(`model: map 32 GiB, ${label}`, median(times), 'ms', null, target);
  }
}
rmSync(work, { recursive: true, force: true });

const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('figure', 72)} ${pad('value', 14)} ${pad('baseline', 14)} ${pad('ratio', 7)} target`);
for (const r of results) {
  const target = r.target === null ? '-' : `${r.target}${r.met ? '' : '  MISSED'}`;
  console.log(`${pad(r.name, 72)} ${pad(`${r.value} ${r.unit}`, 14)} ${pad(r.baseline === null ? '-' : `${r.baseline} ${r.unit}`, 14)} ${pad(r.ratio ?? '-', 7)} ${target}`);
}
console.log(`baselines, same run, medians of ${RUNS} interleaved runs: the same dd/randio on the backing file (BAR or namespace, on tmpfs); anonymous shared memory for allocate; the same copy program with its buffer in anonymous memory for the P2P copies; mounting the default topology for the mount time; the same command outside p2pemu run for the two run figures`);
for (const n of notes) console.log(`note: ${n}`);
for (const r of results.filter((x) => x.met === false)) console.log(`target missed: ${r.name}: ${r.ratio !== null && r.target.startsWith('ratio') ? r.ratio : `${r.value} ${r.unit}`} (target ${r.target})`);
writeFileSync(join(ROOT, 'bench-results.json'), JSON.stringify(results, null, 2) + '\n');
