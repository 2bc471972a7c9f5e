// make bench's shared pieces: running commands, timing them against a
// baseline in turn, recording figures, mounting the daemon under test,
// memory and CPU of a process, compiling the C helpers (scripts/bench.mjs).

import { execFileSync, execSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = process.env.BENCH_CLI ? resolve(process.env.BENCH_CLI) : join(ROOT, 'bin/p2pemu.js');
export const GIB = 1 << 30;
export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
export const ONLY = process.env.BENCH_ONLY?.split(',');
export const section = (name) => !ONLY || ONLY.includes(name);
export const results = [];
export const notes = [];

/** /proc/PID/fd/N of the daemon's memfd with this name (BAR memory has no other path). */
export function memfdPath(pid, name) {
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

export function sh(cmd) {
  return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: '/bin/bash' });
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall-clock seconds of a shell command. */
export function secs(cmd) {
  const t0 = process.hrtime.bigint();
  sh(cmd);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Medians of RUNS measurements of a figure and its baseline, taken in turn (so that a slow moment of the machine hits both). */
export function paired(measure, baseline) {
  const a = [];
  const b = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(measure());
    b.push(baseline());
  }
  return [median(a), median(b)];
}

/**
 * target: { ratio: x } (ratio ≥ x), { max: y } or { min: y } (the value).
 */
export function record(name, value, unit, baseline, target) {
  const ratio = baseline ? Number((value / baseline).toFixed(3)) : null;
  let met = null;
  if (target?.ratio !== undefined) met = ratio >= target.ratio;
  else if (target?.max !== undefined) met = value <= target.max;
  else if (target?.min !== undefined) met = value >= target.min;
  const t = target?.ratio !== undefined ? `ratio >= ${target.ratio}` : target?.max !== undefined ? `<= ${target.max} ${unit}` : target?.min !== undefined ? `>= ${target.min} ${unit}` : null;
  results.push({ name, value: Number(value.toFixed(3)), unit, baseline: baseline === null ? null : Number(baseline.toFixed(3)), ratio, target: t, met });
}

export function mount(mnt, args, env = process.env) {
  const readers = process.env.BENCH_READERS && !args.includes('--readers') ? ['--readers', process.env.BENCH_READERS] : [];
  const transport = process.env.BENCH_TRANSPORT && !args.includes('--transport') ? ['--transport', process.env.BENCH_TRANSPORT] : [];
  const out = execFileSync(process.execPath, [CLI, 'mount', mnt, ...args, ...readers, ...transport, '--log-level', 'warn'], { encoding: 'utf8', env });
  return Number(/daemon pid (\d+)/.exec(out)[1]);
}

export function unmount(mnt, pid) {
  try {
    execFileSync(process.execPath, [CLI, 'unmount', mnt], { stdio: 'ignore' });
  } catch {
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    try { sh(`umount -l '${mnt}'`); } catch { /* not mounted */ }
  }
}

/** VmRSS and PSS (smaps_rollup) of a process, in MB. */
export function memoryOf(pid) {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;
  return { rss, pss };
}

/** CPU seconds (user, system) a process has used: /proc/PID/stat utime and stime. */
export function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  const tick = 100; // USER_HZ
  return { user: Number(f[11]) / tick, sys: Number(f[12]) / tick };
}

/** Runs fn; the CPU microseconds process pid spent on each of `requests` requests meanwhile, user and system. */
export function cpuPerRequest(pid, requests, fn) {
  const a = cpuOf(pid);
  const out = fn();
  const b = cpuOf(pid);
  return { out, user: ((b.user - a.user) * 1e6) / requests, sys: ((b.sys - a.sys) * 1e6) / requests };
}

/** Runs a shell command while sampling a process's memory every 20 ms: the peaks. */
export async function peakMemoryDuring(pid, cmd) {
  let peak = { rss: 0, pss: 0 };
  const sample = () => {
    const m = memoryOf(pid);
    peak = { rss: Math.max(peak.rss, m.rss), pss: Math.max(peak.pss, m.pss) };
  };
  const timer = setInterval(sample, 20);
  await new Promise((res, rej) => spawn('/bin/bash', ['-c', cmd], { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? res() : rej(new Error(`${cmd}: exit ${code}`)))));
  clearInterval(timer);
  sample();
  return peak;
}

const built = new Map();
/** A bench helper from scripts/, compiled once per run. */
export function helper(dir, src, flags = '') {
  if (!built.has(src)) {
    const bin = join(dir, src.replace(/.*\//, '').replace(/\.c$/, ''));
    sh(`gcc -O2 ${flags} -o '${bin}' '${join(ROOT, src)}'`);
    built.set(src, bin);
  }
  return built.get(src);
}
