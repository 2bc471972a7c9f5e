#!/usr/bin/env node
// make bench: throughput and latency figures of the FUSE session, each against
// a baseline measured in the same run. Prints a table and writes
// bench-results.json: [{ name, value, unit, baseline, ratio }].

import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** /proc/PID/fd/N of the daemon's memfd with this name (BAR memory has no other path). */
function memfdPath(pid, name) {
  const dir = `/proc/${pid}/fd`;
  const fd = readdirSync(dir).find((n) => {
    try {
      return readlinkSync(`${dir}/${n}`).startsWith(`/memfd:${name} `);
    } catch {
      return false;
    }
  });
  if (fd === undefined) throw new Error(`no memfd ${name} in ${dir}`);
  return `${dir}/${fd}`;
}
const CLI = join(ROOT, 'bin/p2pemu.js');
const GIB = 1 << 30;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const results = [];

function sh(cmd) {
  return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: '/bin/bash' });
}

/** Best of RUNS wall-clock times of a shell command, in seconds. */
function timeBest(cmd) {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    sh(cmd);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

function record(name, value, unit, baseline) {
  const ratio = baseline ? Number((value / baseline).toFixed(3)) : null;
  results.push({ name, value: Number(value.toFixed(3)), unit, baseline: baseline === null ? null : Number(baseline.toFixed(3)), ratio });
}

const dir = mkdtempSync(join(tmpdir(), 'p2pemu-bench-'));
const mnt = join(dir, 'mnt');
const state = join(dir, 'state');
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
  const out = execFileSync(process.execPath, [CLI, 'mount', mnt, '--topology', topology, '--state', state, '--log-level', 'warn'], { encoding: 'utf8' });
  pid = Number(/daemon pid (\d+)/.exec(out)[1]);
  const served = join(mnt, 'sys/bus/pci/devices/0000:01:00.0/resource1');
  const count = GIB >> 20;

  // Writes first, so the reads below move real pages, not holes. resourceN
  // refuses O_DIRECT like any sysfs file (EINVAL): buffered I/O here, O_DIRECT on
  // the namespaces below.
  const wServed = timeBest(`dd if=/dev/zero of='${served}' bs=1M count=${count} conv=notrunc,fsync status=none`);
  // the raw baseline: the BAR's own memfd (created at its first use), opened again through the daemon's fd table
  const raw = memfdPath(pid, 'p2pemu:0000:01:00.0-bar1');
  const wRaw = timeBest(`dd if=/dev/zero of='${raw}' bs=1M count=${count} conv=notrunc,fsync status=none`);
  record('seq 1MiB buffered write + fsync, 1 GiB through the mount', 1 / wServed, 'GiB/s', 1 / wRaw);
  const bServed = timeBest(`dd if='${served}' of=/dev/null bs=1M count=${count} status=none`);
  const bRaw = timeBest(`dd if='${raw}' of=/dev/null bs=1M count=${count} status=none`);
  record('seq 1MiB buffered read, 1 GiB through the mount', 1 / bServed, 'GiB/s', 1 / bRaw);

  // allocate: first touch and second pass of a 256 MiB mapping, against anonymous shared memory
  const touch = join(dir, 'touch');
  sh(`gcc -O2 -o '${touch}' '${join(ROOT, 'scripts/bench/touch.c')}'`);
  const allocate = join(mnt, 'sys/bus/pci/devices/0000:01:00.0/p2pmem/allocate');
  const passes = (target) => {
    let best = [Infinity, Infinity];
    for (let i = 0; i < RUNS; i++) {
      const [a, b] = sh(`'${touch}' '${target}' 256`).trim().split(' ').map(Number);
      best = [Math.min(best[0], a), Math.min(best[1], b)];
    }
    return best;
  };
  const [allocFirst, allocSecond] = passes(allocate);
  const [anonFirst, anonSecond] = passes('anon');
  record('allocate 256 MiB mapping: first touch', 0.25 / allocFirst, 'GiB/s', 0.25 / anonFirst);
  record('allocate 256 MiB mapping: second pass', 0.25 / allocSecond, 'GiB/s', 0.25 / anonSecond);

  const entries = Number(sh(`find '${mnt}' | wc -l`).trim());
  record(`find MNT | wc -l (${entries} entries)`, timeBest(`find '${mnt}' | wc -l`) * 1000, 'ms', null);
  const lspci = `lspci -A linux-sysfs -O sysfs.path='${mnt}/sys/bus/pci' -vvv > /dev/null 2>&1`;
  record('lspci -vvv against the mount', timeBest(lspci) * 1000, 'ms', null);
} finally {
  try {
    execFileSync(process.execPath, [CLI, 'unmount', mnt], { stdio: 'ignore' });
  } catch {
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    try { sh(`umount -l '${mnt}'`); } catch { /* not mounted */ }
  }
  rmSync(dir, { recursive: true, force: true });
}

// NVMe namespaces of the default topology, state on tmpfs so that the raw
// baseline (the namespace's own backing file) is memory too.
{
  const nv = mkdtempSync(join('/dev/shm', 'p2pemu-bench-nvme-'));
  const nvMnt = join(nv, 'mnt');
  sh(`mkdir -p '${nvMnt}'`);
  let nvPid;
  try {
    const out = execFileSync(process.execPath, [CLI, 'mount', nvMnt, '--state', join(nv, 'state'), '--log-level', 'warn'], { encoding: 'utf8' });
    nvPid = Number(/daemon pid (\d+)/.exec(out)[1]);
    const ns = join(nvMnt, 'dev/nvme0n1');
    const raw = join(nv, 'state/namespaces/0000-03-00.0-n1.img');
    const mib = 512;
    const w = timeBest(`dd if=/dev/zero of='${ns}' bs=1M count=${mib} oflag=direct conv=notrunc status=none`);
    const wr = timeBest(`dd if=/dev/zero of='${raw}' bs=1M count=${mib} oflag=direct conv=notrunc status=none`);
    record('namespace seq 1MiB O_DIRECT write (target >= 0.50)', mib / 1024 / w, 'GiB/s', mib / 1024 / wr);
    const r = timeBest(`dd if='${ns}' of=/dev/null bs=1M count=${mib} iflag=direct status=none`);
    const rr = timeBest(`dd if='${raw}' of=/dev/null bs=1M count=${mib} iflag=direct status=none`);
    record('namespace seq 1MiB O_DIRECT read (target >= 0.50)', mib / 1024 / r, 'GiB/s', mib / 1024 / rr);
    const randio = join(nv, 'randio');
    sh(`gcc -O2 -o '${randio}' '${join(ROOT, 'scripts/bench/randio.c')}'`);
    const iops = (path) => Math.max(...Array.from({ length: RUNS }, () => Number(sh(`'${randio}' '${path}' 4 5000`).trim())));
    record('namespace random 4KiB O_DIRECT read, 4 processes', iops(ns), 'IOPS', iops(raw));
    // P2P copy through nvme1's CMB against the same copy bounced through host memory
    const copy = join(nv, 'p2p-copy');
    sh(`gcc -O2 -o '${copy}' '${join(ROOT, 'scripts/examples/p2p-copy.c')}'`);
    const cmb = join(nvMnt, 'sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate');
    const cm = 256;
    const p2p = timeBest(`'${copy}' --no-verify '${ns}' '${join(nvMnt, 'dev/nvme1n1')}' '${cmb}' ${cm} > /dev/null`);
    const host = timeBest(`dd if='${ns}' of='${join(nvMnt, 'dev/nvme1n1')}' bs=1M count=${cm} iflag=direct oflag=direct conv=notrunc status=none`);
    record('P2P copy nvme0n1 -> CMB of nvme1 -> nvme1n1, 1 MiB O_DIRECT', cm / 1024 / p2p, 'GiB/s', cm / 1024 / host);

    // p2pemu run: a program that maps no file never leaves the kernel's filter
    // (the baseline is the same dd outside run, on MNT/dev/nvme0n1); the
    // supervisor's cost shows on mmap() of allocate (inside: the allocation at
    // mmap(); outside: at the first store).
    const runIn = (cmd) => `node '${CLI}' run --mount '${nvMnt}' -- ${cmd}`;
    const ddTimes = (dev) => `bash -c 'TIMEFORMAT=%R; for i in $(seq ${RUNS}); do time dd if=${dev} of=/dev/null bs=1M count=${mib} iflag=direct status=none; done' 2>&1`;
    const bestTime = (out) => Math.min(...out.trim().split('\n').map(Number));
    const inside = bestTime(sh(runIn(ddTimes('/dev/nvme0n1'))));
    const outside = bestTime(sh(ddTimes(ns)));
    record('O_DIRECT read inside p2pemu run vs outside (target >= 0.95)', mib / 1024 / inside, 'GiB/s', mib / 1024 / outside);
    const cycle = join(nv, 'map-cycle');
    sh(`gcc -O2 -o '${cycle}' '${join(ROOT, 'scripts/bench/map-cycle.c')}'`);
    const cycles = 500;
    const rate = (cmd) => Math.max(...Array.from({ length: RUNS }, () => Number(sh(cmd).trim())));
    const cmbAlloc = '/sys/bus/pci/devices/0000:04:00.0/p2pmem/allocate';
    record('allocate open+mmap+store+munmap+close inside p2pemu run', rate(runIn(`'${cycle}' ${cmbAlloc} ${cycles}`)), 'cycles/s', rate(`'${cycle}' '${join(nvMnt, cmbAlloc)}' ${cycles}`));
  } finally {
    try {
      execFileSync(process.execPath, [CLI, 'unmount', nvMnt], { stdio: 'ignore' });
    } catch {
      if (nvPid) try { process.kill(nvPid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(nv, { recursive: true, force: true });
  }
}

// Mount cost of a big host: 8 accelerators with 128 GiB BARs each, all P2P memory.
{
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
    const out = execFileSync(process.execPath, [CLI, 'mount', bigMnt, '--topology', bigTopo, '--state', join(big, 'state'), '--log-level', 'warn'], { encoding: 'utf8' });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    bigPid = Number(/daemon pid (\d+)/.exec(out)[1]);
    sh(`cat '${bigMnt}'/sys/bus/pci/devices/*/p2pmem/size > /dev/null`);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(sh(`cat /proc/${bigPid}/status`))[1]);
    // the same command on the embedded default topology is the baseline
    const dMnt = join(big, 'dmnt');
    sh(`mkdir -p '${dMnt}'`);
    const d0 = process.hrtime.bigint();
    execFileSync(process.execPath, [CLI, 'mount', dMnt, '--state', join(big, 'dstate'), '--log-level', 'warn'], { encoding: 'utf8' });
    const dsecs = Number(process.hrtime.bigint() - d0) / 1e9;
    execFileSync(process.execPath, [CLI, 'unmount', dMnt], { stdio: 'ignore' });
    record('mount 8 accelerators x 128 GiB P2P memory (target < 2 s)', secs, 's', dsecs);
    record('daemon RSS with 8 x 128 GiB P2P memory (target < 150 MB)', rssKb / 1024, 'MB', null);
  } finally {
    try {
      execFileSync(process.execPath, [CLI, 'unmount', bigMnt], { stdio: 'ignore' });
    } catch {
      if (bigPid) try { process.kill(bigPid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(big, { recursive: true, force: true });
  }
}

// Model cost of mapping 32 GiB of P2P memory under each folio policy (no mount:
// this is the kernel-model work the daemon does at a first fault).
{
  const { parseTopology } = await import(join(ROOT, 'dist/config/parse-topology.js'));
  const { bootHostModel } = await import(join(ROOT, 'dist/model/host-model.js'));
  const policies = [
    ['base', ''],
    ['device-align 2 MiB', ', folios: device-align, align: 2MiB'],
    ['device-align 1 GiB', ', folios: device-align, align: 1GiB'],
    ['best-effort 1 GiB', ', folios: best-effort, align: 1GiB'],
  ];
  for (const [label, folios] of policies) {
    const m = bootHostModel(
      parseTopology('bench', `host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children: [{ kind: accelerator, name: a, p2pmem: { bar: 1${folios} } }]\n`),
    );
    const dev = m.pci.find('a');
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = process.hrtime.bigint();
      const a = m.p2pdma.allocMmap(dev, { len: 32 * GIB, pgoff: 0, shared: true, pid: 1, comm: 'bench', va: 0x7e00_0000_0000 });
      m.p2pdma.freeMmap(a);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const target = label === 'base' ? ' (target < 50 ms)' : label.includes('1 GiB') ? ' (target < 1 ms)' : '';
    record(`model: map 32 GiB, ${label}${target}`, best, 'ms', null);
  }
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('figure', 60)} ${pad('value', 12)} ${pad('baseline', 12)} ratio`);
for (const r of results) {
  console.log(`${pad(r.name, 60)} ${pad(`${r.value} ${r.unit}`, 12)} ${pad(r.baseline === null ? '-' : `${r.baseline} ${r.unit}`, 12)} ${r.ratio ?? '-'}`);
}
console.log(`baselines, same run, best of ${RUNS}: the same dd/randio on the backing file (BAR or namespace, on tmpfs); anonymous shared memory for allocate; the same copy by dd through host memory for the P2P copy; mounting the default topology for the mount time; the same command outside p2pemu run for the two run figures`);
writeFileSync(join(ROOT, 'bench-results.json'), JSON.stringify(results, null, 2) + '\n');
