// Mounting and unmounting a FUSE connection with the system's mount(8): the
// /dev/fuse fd is passed to mount as fd 3 (`-o fd=3`), -i keeps mount from
// looking for a mount.fuse.* helper. Needs root.

import { spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { kernelError } from '../errno.js';

export interface MountOptions {
  mountpoint: string;
  /** source column of /proc/mounts, also the fuse.<subtype> */
  fsname: string;
  allowOther: boolean;
}

export function openFuseDevice(): number {
  try {
    return openSync('/dev/fuse', 'r+');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw kernelError(code === 'EACCES' ? 'EACCES' : 'ENODEV', `cannot open /dev/fuse (${code}): p2pemu must run as root on a kernel with FUSE`);
  }
}

function run(cmd: string, args: string[], extraFd?: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
    if (extraFd !== undefined) stdio.push(extraFd);
    const child = spawn(cmd, args, { stdio });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolvePromise({ code: 127, stderr: String(err) }));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stderr: stderr.trim() }));
  });
}

/** Runs mount(8) asynchronously: the daemon must keep serving INIT while mount runs. */
export async function mountFuse(fd: number, opts: MountOptions): Promise<void> {
  const options = [
    'fd=3',
    'rootmode=40000',
    'user_id=0',
    'group_id=0',
    'default_permissions',
    ...(opts.allowOther ? ['allow_other'] : []),
  ].join(',');
  const { code, stderr } = await run(
    'mount',
    ['-i', '-t', `fuse.${opts.fsname}`, '-o', options, opts.fsname, opts.mountpoint],
    fd,
  );
  if (code !== 0) throw kernelError('EIO', `mount ${opts.mountpoint} failed: ${stderr || `exit ${code}`}`);
}

/** The connection's device number ("0:39") from /proc/self/mountinfo; no access to the mount itself. */
export function mountDevice(mountpoint: string): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== undefined && unescapeMountField(f[4]) === mountpoint) return f[2];
  }
  return undefined;
}

export interface BdiTuning {
  /** INIT cannot raise readahead above what the kernel offers; the bdi knob can */
  readAheadKb: number;
  /**
   * FUSE mounts get strict_limit and max_ratio 1 %: a process dirtying a large
   * shared mapping is throttled into writeback on every pass. P2P memory is
   * device memory, not a disk cache, so lift both.
   */
  maxRatio: number;
  strictLimit: boolean;
}

export async function tuneBdi(mountpoint: string, t: BdiTuning): Promise<void> {
  const dev = mountDevice(mountpoint);
  if (!dev) return;
  const dir = `/sys/class/bdi/${dev}`;
  await writeFile(`${dir}/read_ahead_kb`, `${t.readAheadKb}\n`);
  await writeFile(`${dir}/strict_limit`, `${t.strictLimit ? 1 : 0}\n`).catch(() => undefined);
  await writeFile(`${dir}/max_ratio`, `${t.maxRatio}\n`);
}

/**
 * Unmounts; falls back to a lazy unmount when the mount is busy. 'detached'
 * means the lazy one: the connection lives on until the last open file is closed.
 */
export async function unmountFuse(mountpoint: string, lazy = false): Promise<'unmounted' | 'detached'> {
  const first = await run('umount', lazy ? ['-l', mountpoint] : [mountpoint]);
  if (first.code === 0) return lazy ? 'detached' : 'unmounted';
  if (!lazy) {
    const second = await run('umount', ['-l', mountpoint]);
    if (second.code === 0) return 'detached';
    throw kernelError('EBUSY', `umount ${mountpoint} failed: ${second.stderr || first.stderr}`);
  }
  throw kernelError('EBUSY', `umount -l ${mountpoint} failed: ${first.stderr}`);
}

/**
 * A plain unmount that never falls back to a lazy one: 'ok', 'busy' (EBUSY:
 * files under it are in use), or umount's own message for anything else.
 */
export async function unmountStrict(mountpoint: string): Promise<'ok' | 'busy' | string> {
  const r = await run('umount', [mountpoint]);
  if (r.code === 0) return 'ok';
  return /busy/i.test(r.stderr) ? 'busy' : r.stderr || `umount exited ${r.code}`;
}

/**
 * Ends every request still waiting on a dead daemon's connection (fusectl
 * "abort"), so processes stuck in them get ECONNABORTED instead of hanging.
 * The connection id is the minor number of the mount's device.
 */
export async function abortConnection(device: string): Promise<boolean> {
  const minor = device.split(':')[1];
  const dir = '/sys/fs/fuse/connections';
  if (!existsSync(`${dir}/${minor}`)) await run('mount', ['-t', 'fusectl', 'none', dir]);
  try {
    await writeFile(`${dir}/${minor}/abort`, '1\n');
    return true;
  } catch {
    return false;
  }
}

export interface MountEntry {
  source: string;
  mountpoint: string;
  fstype: string;
}

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function listMounts(): MountEntry[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [source, mountpoint, fstype] = line.split(' ');
      return { source: unescapeMountField(source!), mountpoint: unescapeMountField(mountpoint!), fstype: fstype! };
    });
}

export function findMount(mountpoint: string): MountEntry | undefined {
  const abs = resolve(mountpoint);
  return listMounts().find((m) => m.mountpoint === abs);
}

/** True when the path is a FUSE mount whose daemon is gone (the kernel answers ENOTCONN). Never call it on your own mount. */
export function isStaleMount(mountpoint: string): boolean {
  try {
    // stat may be answered from cached attributes; listing always asks the daemon
    statSync(mountpoint);
    readdirSync(mountpoint);
    return false;
  } catch (err) {
    // ECONNABORTED: a request was in flight when the connection died
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOTCONN' || code === 'ECONNABORTED';
  }
}
