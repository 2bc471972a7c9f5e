// Mount tests: run the real CLI, mount for real, drive the mount from separate
// processes, and clean up only what we started.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe } from 'vitest';

export const ROOT = resolve(__dirname, '../..');
export const CLI = join(ROOT, 'bin/p2pemu.js');
export const isRoot = process.getuid?.() === 0;

/** Why this process cannot run mount tests (undefined: it can). */
export const MOUNT_SKIP_REASON = isRoot ? undefined : `mounting needs root (mount -t fuse); running as uid ${process.getuid?.()}`;

let skipTold = false;
/**
 * The first call in a beforeAll that mounts: false where mounts cannot run
 * (the reason is printed once per file), so nothing is mounted or left half set up.
 */
export function canMount(): boolean {
  if (!MOUNT_SKIP_REASON) return true;
  if (!skipTold) console.warn(`mount suites skipped: ${MOUNT_SKIP_REASON}`);
  skipTold = true;
  return false;
}

/** A suite that needs a mount: skipped with the reason in its title where mounts cannot run. */
export function describeMount(name: string, fn: () => void): void {
  if (MOUNT_SKIP_REASON) describe.skip(`${name} (skipped: ${MOUNT_SKIP_REASON})`, fn);
  else describe(name, fn);
}

/** Each test file keeps its mount records apart, so `status` shows only its own mounts. */
export const RUN_DIR = mkdtempSync(join(tmpdir(), 'p2pemu-run-'));
const env = { ...process.env, P2PEMU_RUN_DIR: RUN_DIR };

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function result(r: SpawnSyncReturns<string>): Result {
  return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function p2pemu(...args: string[]): Result {
  return result(spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 60_000 }));
}

export function sh(script: string, opts: { input?: string } = {}): Result {
  return result(spawnSync('bash', ['-c', script], { encoding: 'utf8', env, input: opts.input, timeout: 60_000 }));
}

export function mounted(mnt: string): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);
}

export interface Mount {
  mnt: string;
  state: string;
  sysfs: string;
  pid: number;
  unmount(): void;
}

const madeDirs: string[] = [];

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(d);
  return d;
}

// A test file's temp dirs (and its registry dir) go after its last test; a dir
// that still holds a mount is left alone, never removed through the mount.
afterAll(() => {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '');
  for (const d of [RUN_DIR, ...madeDirs]) {
    if (mounts.some((m) => m === d || m.startsWith(`${d}/`))) continue;
    rmSync(d, { recursive: true, force: true });
  }
});

/** Compiles a C program of the repository (path from its root) into a temp dir: the binary's path. */
export function compileC(source: string, flags = ''): string {
  const bin = join(tempDir('p2pemu-c-'), basename(source, '.c'));
  const r = sh(`gcc -O2 ${flags} -o '${bin}' '${join(ROOT, source)}'`);
  if (r.code !== 0) throw new Error(r.stderr);
  return bin;
}

/** P2PEMU_TRANSPORT=uring|auto|devfuse: the suites' mounts use that FUSE transport (default: the CLI's). */
export const TRANSPORT_ARGS = process.env.P2PEMU_TRANSPORT ? ['--transport', process.env.P2PEMU_TRANSPORT] : [];

/** Mounts a topology (default: the embedded one) at a fresh directory. */
export function mountTopology(topology?: string, extraArgs: string[] = []): Mount {
  const mnt = tempDir('p2pemu-mnt-');
  const state = tempDir('p2pemu-state-');
  const args = ['mount', mnt, '--state', state, ...(topology ? ['--topology', topology] : []), ...TRANSPORT_ARGS, ...extraArgs];
  const r = p2pemu(...args);
  if (r.code !== 0) throw new Error(`mount failed (${r.code}): ${r.stderr}`);
  const pid = Number(/daemon pid (\d+)/.exec(r.stdout)?.[1]);
  return {
    mnt,
    state,
    sysfs: join(mnt, 'sys/bus/pci'),
    pid,
    unmount() {
      if (mounted(mnt)) p2pemu('unmount', mnt);
      // last resort, so a failing test never leaves a mount behind
      if (mounted(mnt)) sh(`umount -l '${mnt}'`);
      // Only our own daemon: pids get reused, so check its command line names our mount point.
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mnt)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      if (existsSync(mnt)) rmSync(mnt, { recursive: true, force: true });
      if (!process.env.P2PEMU_KEEP_STATE) rmSync(state, { recursive: true, force: true });
    },
  };
}

export const LSPCI = (m: Mount, args: string) => sh(`lspci -A linux-sysfs -O sysfs.path=${m.sysfs} ${args} 2>/dev/null`).stdout;
