// The daemon: builds the emulated host, mounts it, serves until SIGINT/SIGTERM
// or until the mount goes away, then unmounts and removes its shared memory.

import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { TopologySpec } from '../config/spec.js';
import { FuseSession } from '../fuse/session.js';
import { mountDevice } from '../fuse/mount.js';
import { removeStaleBarDirs } from '../memory/bar-store.js';
import { formatDmesg } from '../model/klog.js';
import { buildEmulatedHost, type EmulatedHost } from './emulated-host.js';
import { removeRecord, writeRecord } from './registry.js';

export const FSNAME = 'p2pemu';
export const SHM_DIR = '/dev/shm';

export interface DaemonOptions {
  mountpoint: string;
  spec: TopologySpec;
  stateDir: string;
  logFile: string | undefined;
  readers: number;
  log: Logger;
  /** fd to write "ready" (or "error …") to once the tree is served */
  readyFd: number | undefined;
}

/** Lets the tree and the BAR view reach the kernel's caches through the session's notifications. */
function connectCaches(host: EmulatedHost, session: FuseSession, mountpoint: string, log: Logger): void {
  const dev = mountDevice(mountpoint);
  if (dev) {
    const [major, minor] = dev.split(':').map(Number);
    host.mount.dev = `${major!.toString(16).padStart(2, '0')}:${minor!.toString(16).padStart(2, '0')}`;
  } else {
    log.warn({ mountpoint }, 'mount device not found in /proc/self/mountinfo: allocate cannot size mappings');
  }
  host.vfs.invalidation = {
    // ENOENT: the kernel had no such name cached, which is fine
    entry: (parent, name) => void session.invalEntry(parent, name).catch(() => undefined),
    inode: (ino) => session.invalInode(ino, 0, 0),
  };
  host.barView.pageCache = {
    retrieve: (ino, offset, size) => session.retrieve(ino, offset, size).then((r) => r.data),
    inval: (ino, offset, size) => session.invalInode(ino, offset, size),
  };
}

export interface RunningDaemon {
  host: EmulatedHost;
  session: FuseSession;
  stop(): Promise<void>;
}

function tellParent(fd: number | undefined, line: string): void {
  if (fd === undefined) return;
  try {
    writeSync(fd, line + '\n');
  } catch {
    /* parent gone */
  }
}

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const log = opts.log;
  const mountpoint = resolve(opts.mountpoint);
  removeStaleBarDirs(SHM_DIR);
  const barDir = `${SHM_DIR}/p2pemu-${process.pid}`;
  const host = buildEmulatedHost(opts.spec, barDir, opts.stateDir);
  const klogLog = log.child({ subsys: 'kernel' });
  for (const r of host.klog.all()) klogLog.debug(formatDmesg(r).trimEnd());
  host.klog.onRecord((r) => klogLog.info(formatDmesg(r).trimEnd()));

  const session = new FuseSession(host.vfs, { mountpoint, fsname: FSNAME, readers: opts.readers, log });
  try {
    await session.mount();
  } catch (err) {
    host.bars.destroy();
    throw err;
  }
  connectCaches(host, session, mountpoint, log);
  writeRecord({
    pid: process.pid,
    mountpoint,
    topology: opts.spec.file,
    stateDir: opts.stateDir,
    barDir,
    logFile: opts.logFile,
    started: new Date().toISOString(),
  });
  log.info({ mountpoint, topology: opts.spec.file, devices: host.pci.devices.length, nodes: host.table.size }, 'mounted');

  let stopping: Promise<void> | undefined;
  const cleanup = () => {
    host.namespaces.close();
    host.bars.destroy();
    removeRecord(mountpoint, process.pid);
  };
  const stop = () =>
    (stopping ??= (async () => {
      log.info({ mountpoint }, 'unmounting');
      await session.unmount();
      cleanup();
    })());
  session.onLost = (reason) => {
    if (stopping) return;
    log.warn({ mountpoint, reason }, 'mount went away');
    stopping = Promise.resolve().then(cleanup);
  };
  return { host, session, stop };
}

/** Foreground entry: start, report readiness, and run until a signal or the mount goes away. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  // Handlers first: a SIGTERM that arrived between "ready" and their installation
  // used to kill the daemon with the default action and leave the mount behind.
  let d: RunningDaemon | undefined;
  let signalled: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    opts.log.info({ signal: sig }, 'signal received');
    signalled ??= sig;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    d = await startDaemon(opts);
  } catch (err) {
    const msg = (err as Error).message;
    opts.log.error({ err }, 'mount failed');
    tellParent(opts.readyFd, `error ${msg}`);
    return 1;
  }
  tellParent(opts.readyFd, 'ready');
  const running = d;
  await new Promise<void>((res) => {
    wake = () => void running.stop().then(res);
    if (signalled) wake();
    void running.session.closed.then(async () => {
      await running.stop();
      res();
    });
  });
  return 0;
}
