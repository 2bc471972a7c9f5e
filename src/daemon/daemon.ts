// The daemon: builds the emulated host, mounts it, serves until SIGINT/SIGTERM
// or until the mount goes away (p2pemu unmount unmounts it from outside),
// then unmounts and releases its shared memory.

import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { TopologySpec } from '../config/index.js';
import { FuseSession, type FuseTransport } from '../fuse/index.js';
import { mountDevice } from '../fuse/index.js';
import { UnsafePathError } from '../memory/index.js';
import { formatDmesg } from '../model/index.js';
import { ownIdentity } from './daemon-identity.js';
import { addHandlerErrorsFile } from '../vfs/index.js';
import { serveControl, type ControlHandlers, type LiveHost } from './control.js';
import { buildEmulatedHost, type EmulatedHost } from './emulated-host.js';
import { removeRecord, writeRecord } from './registry.js';

export const FSNAME = 'p2pemu';

export interface DaemonOptions {
  mountpoint: string;
  spec: TopologySpec;
  stateDir: string;
  logFile: string | undefined;
  readers: number;
  transport: FuseTransport;
  log: Logger;
  /** fd to write "ready" (or "error …") to once the tree is served */
  readyFd: number | undefined;
  /** what the control socket answers (the CLI's live commands); none: no socket */
  control?: ControlHandlers;
}

/** P2PEMU_TEST_URING_UNAVAILABLE=setup|init (tests of the transport fallback): how io_uring is made unavailable. */
function uringTestUnavailable(): 'setup' | 'init' | undefined {
  const v = process.env.P2PEMU_TEST_URING_UNAVAILABLE;
  return v === 'setup' || v === 'init' ? v : undefined;
}

/** The mount's device as /proc/PID/maps prints it ("00:2a"), from the "0:42" of mountinfo. */
function mapsDevice(mountpoint: string, log: Logger): string | undefined {
  const dev = mountDevice(mountpoint);
  if (!dev) {
    log.warn({ mountpoint }, 'mount device not found in /proc/self/mountinfo: allocate cannot size mappings');
    return undefined;
  }
  return dev
    .split(':')
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join(':');
}

/** Adapts the tree and the BAR view to the session: the kernel's caches, the data path, the mount's identity. */
function connect(host: EmulatedHost, session: FuseSession, mountpoint: string, log: Logger): void {
  host.vfs.connect({
    device: mapsDevice(mountpoint, log),
    // ENOENT: the kernel had no such name cached, which is fine
    invalidateEntry: (parent, name) => session.invalEntry(parent, name).catch(() => undefined),
    invalidateInode: (ino, offset = 0, length = 0) => session.invalInode(ino, offset, length),
    stopServing: (handle) => session.dropBacking(handle),
    warn: (fields, message) => log.warn(fields, message),
  });
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
  const host = buildEmulatedHost(opts.spec, opts.stateDir);
  const klogLog = log.child({ subsys: 'kernel' });
  for (const r of host.klog.all()) klogLog.debug(formatDmesg(r).trimEnd());
  host.klog.onRecord((r) => klogLog.info(formatDmesg(r).trimEnd()));

  const session = new FuseSession(host.vfs, {
    mountpoint,
    fsname: FSNAME,
    readers: opts.readers,
    transport: opts.transport,
    // test-only: as where io_uring is not allowed (the fallback and its error)
    uringTestUnavailable: uringTestUnavailable(),
    log,
  });
  addHandlerErrorsFile(host.table, () => session.handlerBugs);
  try {
    await session.mount();
  } catch (err) {
    host.bars.destroy();
    throw err;
  }
  connect(host, session, mountpoint, log);
  const live: LiveHost = {
    mountpoint,
    spec: host.spec,
    model: { klog: host.klog, pci: host.pci, p2pdma: host.p2pdma, drivers: host.drivers },
    transfers: () => host.stats.all(),
    handlerErrors: () => session.handlerBugs,
  };
  let control: { path: string; close(): void } | undefined;
  try {
    control = opts.control && (await serveControl(opts.stateDir, opts.control, live, log));
  } catch (err) {
    log.warn({ err }, 'no control socket: commands cannot ask this mount with --mount');
  }
  const me = ownIdentity();
  writeRecord({
    daemon: me,
    mountpoint,
    topology: opts.spec.file,
    stateDir: opts.stateDir,
    logFile: opts.logFile,
    started: new Date().toISOString(),
    control: control?.path,
  });
  log.info({ mountpoint, topology: opts.spec.file, devices: host.pci.devices.length, nodes: host.table.size }, 'mounted');

  let stopping: Promise<void> | undefined;
  const cleanup = () => {
    control?.close();
    host.namespaces.close();
    host.bars.destroy();
    removeRecord(mountpoint, me);
  };
  const stop = () =>
    (stopping ??= (async () => {
      log.info({ mountpoint }, 'unmounting');
      await session.unmount(() => log.warn({ mountpoint }, 'mount busy: detached lazily; serving the files still open until they are closed (signal again to stop now)'));
      cleanup();
    })());
  session.onLost = (reason) => {
    if (stopping) return;
    // the usual end: p2pemu unmount (or umount) unmounted us from outside
    log.info({ mountpoint, reason }, 'mount went away');
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
    if (signalled) {
      // a second signal: stop now; closing /dev/fuse ends the connection (open files get ENOTCONN)
      opts.log.warn({ signal: sig }, 'second signal: exiting without waiting for open files');
      process.exit(0);
    }
    signalled = sig;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    d = await startDaemon(opts);
  } catch (err) {
    const msg = (err as Error).message;
    opts.log.error({ err }, 'mount failed');
    // an unsafe or unusable file in the state dir is bad input (exit 2), anything else a failure
    const badInput = err instanceof UnsafePathError;
    if (opts.readyFd === undefined) throw err;
    tellParent(opts.readyFd, `${badInput ? 'bad-input' : 'error'} ${msg}`);
    return badInput ? 2 : 1;
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
