// Runs inside the private mount namespace `p2pemu run` made (unshare
// --mount --propagation private): puts the emulated tree at /sys and /dev as
// plan.ts says, then runs the command under the seccomp supervisor
// (supervised.ts) and exits with its status.
//
// usage (internal): node inside.js MNT -- CMD [ARGS…]

import { chownSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mknod, mount, MS_BIND, MS_NOSUID, MS_REC } from './libc.js';
import { realPathsPlan, type Entry, type EntryKind, type Op } from './plan.js';
import { runSupervised } from './supervised.js';

function kindOf(mode: number): EntryKind {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'link';
    case 0o100000:
      return 'file';
    case 0o020000:
      return 'chr';
    case 0o060000:
      return 'blk';
    default:
      return 'other';
  }
}

function list(path: string): Entry[] | undefined {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return undefined;
  }
  const out: Entry[] = [];
  for (const name of names) {
    try {
      const st = lstatSync(`${path}/${name}`);
      const kind = kindOf(st.mode);
      out.push({ name, kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, rdev: st.rdev, target: kind === 'link' ? readlinkSync(`${path}/${name}`) : undefined });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function apply(op: Op): void {
  switch (op.op) {
    case 'tmpfs':
      mount('tmpfs', op.path, 'tmpfs', MS_NOSUID, 'mode=0755');
      break;
    case 'mkdir':
      mkdirSync(op.path, { recursive: true, mode: op.mode });
      break;
    case 'bind':
      mount(op.from, op.to, null, MS_BIND | MS_REC);
      break;
    case 'symlink':
      // a relative target resolves within the new tree
      symlinkSync(op.target, op.path);
      break;
    case 'touch':
      writeFileSync(op.path, '', { mode: 0o600 });
      break;
    case 'mknod':
      mknod(op.path, op.mode, op.rdev);
      chownSync(op.path, op.uid, op.gid);
      break;
  }
}

/** Puts the emulated tree at /sys and /dev in this (private) mount namespace. */
export function enterRealPaths(mnt: string): void {
  // the host's trees stay reachable through open directories once they are covered
  const sysFd = openSync('/sys', 'r');
  const devFd = openSync('/dev', 'r');
  const ops = realPathsPlan({ host: list, ours: list }, `/proc/self/fd/${sysFd}`, `/proc/self/fd/${devFd}`, mnt);
  for (const op of ops) apply(op);
  closeSync(sysFd);
  closeSync(devFd);
}

const args = process.argv.slice(2);
const sep = args.indexOf('--');
if (sep !== 1 || args.length < 3) {
  process.stderr.write('usage: inside.js MNT -- CMD [ARGS…]\n');
  process.exit(2);
}
try {
  enterRealPaths(args[0]!);
  process.exit(await runSupervised(args[0]!, args.slice(2)));
} catch (err) {
  process.stderr.write(`p2pemu run: ${(err as Error).message}\n`);
  process.exit(1);
}
