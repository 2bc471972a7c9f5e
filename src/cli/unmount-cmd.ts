// p2pemu unmount MOUNTPOINT: unmount (the daemon sees its connection end and
// exits), refuse a busy mount naming who holds it, detach with --lazy, or
// recover a stale mount whose daemon is gone. Only the process a record names
// by pid, start time and command line is ever signalled.

import { resolve } from 'node:path';
import { isSameProcess, signalProcess, type ProcessIdentity } from '../daemon/index.js';
import { callerMemory, formatMountUsers, mountUsers } from '../caller-memory/index.js';
import { daemonAlive, readRecord, removeRecord } from '../daemon/index.js';
import { abortConnection, findMount, isStaleMount, mountDevice, unmountFuse, unmountStrict } from '../daemon/index.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const UNMOUNT_USAGE = `usage: p2pemu unmount MOUNTPOINT [--lazy]

Unmounts a p2pemu mount; its daemon then exits. A busy mount (a shell whose
working directory is inside it, an open file, a mapping, an O_DIRECT request
in flight) is left alone: the command says "busy: PIDs …" with the processes
holding it and exits 1 at once.
  --lazy   detach it anyway (umount -l): the path is free at once, processes
           keep the files they hold, and the daemon serves them until the last
           one is closed, then exits
A mount whose daemon died (ENOTCONN, "Transport endpoint is not connected") is
detached with umount -l, after its FUSE connection is aborted so that no
process stays stuck in it.`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits up to `ms` for the process to end; true once it has. */
async function waitGone(id: ProcessIdentity, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (!isSameProcess(id)) return true;
  return !isSameProcess(id);
}

/** After an unmount the daemon leaves by itself; one that lingers is told, then made, to go. */
async function stopDaemon(id: ProcessIdentity): Promise<void> {
  if (await waitGone(id, 5000)) return;
  signalProcess(id, 'SIGTERM');
  if (await waitGone(id, 2000)) return;
  signalProcess(id, 'SIGKILL');
  await waitGone(id, 1000);
}

export async function unmountCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { lazy: { type: 'boolean' } }, UNMOUNT_USAGE);
  if (values.help) {
    console.log(UNMOUNT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`unmount needs exactly one MOUNTPOINT\n${UNMOUNT_USAGE}`, EXIT_USAGE);
  const mountpoint = resolve(positionals[0]!);
  const rec = readRecord(mountpoint);
  const daemon = rec && daemonAlive(rec) ? rec.daemon : undefined;
  const mounted = findMount(mountpoint)?.fstype.startsWith('fuse.p2pemu') ?? false;

  if (!mounted) {
    if (!rec) throw new CliError(`${mountpoint} is not a p2pemu mount`);
    if (daemon) {
      // detached with --lazy earlier: its daemon still serves files opened before
      signalProcess(daemon, 'SIGTERM');
      await waitGone(daemon, 2000);
      removeRecord(mountpoint);
      console.log(`p2pemu: ${mountpoint} was detached; stopped its daemon (pid ${daemon.pid})`);
      return 0;
    }
    removeRecord(mountpoint);
    console.log(`p2pemu: ${mountpoint} was no longer mounted; removed its record`);
    return 0;
  }

  if (isStaleMount(mountpoint)) {
    // nobody answers this connection any more: release processes waiting in it
    const dev = mountDevice(mountpoint);
    if (dev) await abortConnection(dev);
    await unmountFuse(mountpoint, true);
    removeRecord(mountpoint);
    console.log(`p2pemu: recovered stale mount ${mountpoint} (umount -l)`);
    return 0;
  }

  if (values.lazy) {
    await unmountFuse(mountpoint, true);
    if (!daemon || (await waitGone(daemon, 2000))) {
      console.log(`p2pemu: unmounted ${mountpoint} (lazily)`);
      return 0;
    }
    console.log(`p2pemu: detached ${mountpoint} (umount -l); its daemon (pid ${daemon.pid}) exits once the last file under it is closed`);
    return 0;
  }

  const result = await unmountStrict(mountpoint);
  if (result === 'busy') {
    const users = mountUsers(callerMemory, mountpoint);
    const who = users.length > 0 ? `PIDs ${formatMountUsers(users)}` : 'no process found holding it (a mount on top of it, or another mount namespace?)';
    throw new CliError(`busy: ${who}; ${mountpoint} stays mounted: close them, or detach it with: p2pemu unmount --lazy ${mountpoint}`);
  }
  if (result !== 'ok') throw new CliError(`umount ${mountpoint} failed: ${result}`);
  if (daemon) await stopDaemon(daemon);
  // the daemon removes its own record; one whose daemon is gone goes here
  if (!daemon || !isSameProcess(daemon)) removeRecord(mountpoint);
  console.log(`p2pemu: unmounted ${mountpoint}`);
  return 0;
}
