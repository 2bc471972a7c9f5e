// p2pemu unmount MOUNTPOINT: stop the daemon (it unmounts itself) or, when the
// daemon is gone, recover the stale mount with a lazy unmount.

import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAlive, readRecord, removeRecord } from '../daemon/registry.js';
import { abortConnection, findMount, isStaleMount, mountDevice, unmountFuse } from '../fuse/mount.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const UNMOUNT_USAGE = `usage: p2pemu unmount MOUNTPOINT

Unmounts a p2pemu mount and stops its daemon. A mount whose daemon died
(ENOTCONN, "Transport endpoint is not connected") is detached with umount -l,
after its FUSE connection is aborted so that no process stays stuck in it.`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (!isAlive(pid)) return true;
  return !isAlive(pid);
}

export async function unmountCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {}, UNMOUNT_USAGE);
  if (values.help) {
    console.log(UNMOUNT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`unmount needs exactly one MOUNTPOINT\n${UNMOUNT_USAGE}`, EXIT_USAGE);
  const mountpoint = resolve(positionals[0]!);
  const rec = readRecord(mountpoint);
  const mounted = findMount(mountpoint);
  if (rec && isAlive(rec.pid)) {
    process.kill(rec.pid, 'SIGTERM');
    if (await waitForExit(rec.pid, 15000)) {
      console.log(`p2pemu: unmounted ${mountpoint}`);
      return 0;
    }
    process.kill(rec.pid, 'SIGKILL');
    await waitForExit(rec.pid, 2000);
  }
  // The daemon is gone: its shared memory is ours to remove.
  if (rec) rmSync(rec.barDir, { recursive: true, force: true });
  if (mounted && mounted.fstype.startsWith('fuse.p2pemu')) {
    const stale = isStaleMount(mountpoint);
    // nobody answers this connection any more: release processes waiting in it
    const dev = mountDevice(mountpoint);
    if (dev) await abortConnection(dev);
    await unmountFuse(mountpoint, true);
    removeRecord(mountpoint);
    console.log(`p2pemu: ${stale ? 'recovered stale mount' : 'detached'} ${mountpoint} (umount -l)`);
    return 0;
  }
  removeRecord(mountpoint);
  if (rec) {
    console.log(`p2pemu: ${mountpoint} was no longer mounted; removed its record`);
    return 0;
  }
  throw new CliError(`${mountpoint} is not a p2pemu mount`);
}
