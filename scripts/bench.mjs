#!/usr/bin/env node
// make bench: throughput and latency figures of the FUSE session, each against
// a baseline measured in the same run. Prints a table and writes
// bench-results.json: [{ name, value, unit, baseline, ratio }].

import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
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
  const raw = `/dev/shm/p2pemu-${pid}/0000:01:00.0-bar1`;
  const count = GIB >> 20;

  // Writes first, so the reads below move real pages, not holes.
  const wServed = timeBest(`dd if=/dev/zero of='${served}' bs=1M count=${count} oflag=direct conv=notrunc status=none`);
  const wRaw = timeBest(`dd if=/dev/zero of='${raw}' bs=1M count=${count} oflag=direct conv=notrunc status=none`);
  record('seq 1MiB O_DIRECT write, 1 GiB through the mount', 1 / wServed, 'GiB/s', 1 / wRaw);
  const rServed = timeBest(`dd if='${served}' of=/dev/null bs=1M count=${count} iflag=direct status=none`);
  const rRaw = timeBest(`dd if='${raw}' of=/dev/null bs=1M count=${count} iflag=direct status=none`);
  record('seq 1MiB O_DIRECT read, 1 GiB through the mount', 1 / rServed, 'GiB/s', 1 / rRaw);
  const bServed = timeBest(`dd if='${served}' of=/dev/null bs=1M count=${count} status=none`);
  const bRaw = timeBest(`dd if='${raw}' of=/dev/null bs=1M count=${count} status=none`);
  record('seq 1MiB buffered read, 1 GiB through the mount', 1 / bServed, 'GiB/s', 1 / bRaw);

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

const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('figure', 52)} ${pad('value', 12)} ${pad('baseline', 12)} ratio`);
for (const r of results) {
  console.log(`${pad(r.name, 52)} ${pad(`${r.value} ${r.unit}`, 12)} ${pad(r.baseline === null ? '-' : `${r.baseline} ${r.unit}`, 12)} ${r.ratio ?? '-'}`);
}
console.log('baseline: the same dd on the BAR backing file in /dev/shm, same run; best of', RUNS);
writeFileSync(join(ROOT, 'bench-results.json'), JSON.stringify(results, null, 2) + '\n');
