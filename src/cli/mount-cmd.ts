// p2pemu mount MOUNTPOINT: validate the topology, then run the daemon here
// (--foreground) or in the background and return once the tree is served.

import { spawn } from 'node:child_process';
import { closeSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROFILES, type Profile } from '../config/index.js';
import { runDaemon } from '../daemon/index.js';
import { createLogger, LOG_LEVELS } from '../daemon/index.js';
import { daemonAlive, readRecord } from '../daemon/index.js';
import { defaultStateDir, LOG_NAME, openDaemonLog, prepareStateDir } from '../daemon/index.js';
import { findMount, isStaleMount } from '../daemon/index.js';
import { checkRootOnlyDir, DEFAULT_READERS, DEFAULT_TRANSPORT, FUSE_TRANSPORTS, UnsafePathError, type FuseTransport } from '../daemon/index.js';
import { modelOrExit, parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import { LIVE_HANDLERS } from './live-handlers.js';

export const MOUNT_USAGE = `usage: p2pemu mount MOUNTPOINT [--topology FILE] [--state DIR] [--profile NAME] [--foreground] [--log-level LEVEL] [--readers N]
                    [--transport auto|uring|devfuse]

Mounts an emulated PCI host at MOUNTPOINT (an existing directory) and returns
once MOUNTPOINT/sys and MOUNTPOINT/dev are served; the daemon stays in the
background. Needs root. MOUNTPOINT and every directory on its path must be
root's, and those on the way not writable by others unless sticky (like /tmp);
otherwise the mount is refused (exit 2), since another user could swap it.

  --topology FILE   topology YAML (default: the embedded default topology;
                    see it with: p2pemu topo --dump-default)
  --state DIR       where the daemon keeps its log and the NVMe namespace
                    images (default: /var/lib/p2pemu/<mountpoint, %-encoded>);
                    it must be root's and writable by root alone, else the
                    mount is refused (exit 2); symlinks in it are never followed
  --profile NAME    kernel behaviour: mainline (default), userspace-p2pdma-rfc
                    (the RFC series: mmap of MNT/dev/nvmeX allocates from the CMB)
                    or hmm-allow-p2p (HMM_PFN_ALLOW_P2P for device-private pages);
                    overrides the topology's profile field
  --foreground      run the daemon in this process until SIGINT/SIGTERM
  --log-level LEVEL fatal, error, warn, info (default), debug, trace, silent
  --readers N       threads reading /dev/fuse (default: one per CPU, 2 to 4)
  --transport T     how requests reach the daemon: devfuse (default: read and
                    write /dev/fuse), uring (FUSE over io_uring, a queue per
                    CPU; fails where the kernel or the fuse module parameter
                    enable_uring does not allow it) or auto (io_uring where
                    allowed, else /dev/fuse with one info line in the log)`;

const options = {
  topology: { type: 'string' },
  state: { type: 'string' },
  profile: { type: 'string' },
  foreground: { type: 'boolean' },
  'log-level': { type: 'string' },
  readers: { type: 'string' },
  transport: { type: 'string' },
  'ready-fd': { type: 'string' }, // internal: the background parent's pipe
} as const;

/** Refuses mount points that cannot take a new mount, with the fix in the message. */
export function checkMountpoint(mountpoint: string): void {
  const abs = resolve(mountpoint);
  if (isStaleMount(abs)) {
    throw new CliError(
      `${abs} is a stale mount (its daemon is gone: Transport endpoint is not connected); recover with: p2pemu unmount ${abs}  (or: umount -l ${abs})`,
    );
  }
  const existing = findMount(abs);
  if (existing && existing.fstype.startsWith('fuse.p2pemu')) {
    const rec = readRecord(abs);
    throw new CliError(`${abs} is already a p2pemu mount${rec && daemonAlive(rec) ? ` (daemon pid ${rec.daemon.pid})` : ''}; unmount it first: p2pemu unmount ${abs}`);
  }
  let st;
  try {
    st = statSync(abs);
  } catch (err) {
    throw new CliError(`${abs}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
  }
  if (!st.isDirectory()) throw new CliError(`${abs}: not a directory`);
  // mount(8) follows symlinks: a directory on the way that another user can
  // change would let them swap the mount point for /etc or /home
  try {
    checkRootOnlyDir(abs, 'any-mode');
  } catch (err) {
    if (err instanceof UnsafePathError) throw new CliError(`mount point ${err.message}`, EXIT_USAGE);
    throw err;
  }
}

export async function mountCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, options, MOUNT_USAGE);
  if (values.help) {
    console.log(MOUNT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`mount needs exactly one MOUNTPOINT\n${MOUNT_USAGE}`, EXIT_USAGE);
  const level = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level as never)) throw new CliError(`--log-level must be one of: ${LOG_LEVELS.join(', ')}`, EXIT_USAGE);
  const readers = values.readers === undefined ? DEFAULT_READERS : Number(values.readers);
  if (!Number.isInteger(readers) || readers < 1 || readers > 64) throw new CliError('--readers must be an integer from 1 to 64', EXIT_USAGE);
  const transport = (values.transport ?? DEFAULT_TRANSPORT) as FuseTransport;
  if (!FUSE_TRANSPORTS.includes(transport)) throw new CliError(`--transport must be one of: ${FUSE_TRANSPORTS.join(', ')}`, EXIT_USAGE);

  // Bad topology: one line, exit 2, and nothing created or mounted. Booting the
  // model here finds what only enumeration and probing can (bus conflicts, BAR space).
  const spec = modelOrExit(values.topology === undefined ? undefined : resolve(values.topology)).pci.spec;
  if (values.profile !== undefined) {
    if (!(PROFILES as readonly string[]).includes(values.profile)) throw new CliError(`--profile must be one of: ${PROFILES.join(', ')}`, EXIT_USAGE);
    spec.profile = values.profile as Profile;
  }
  const mountpoint = resolve(positionals[0]!);
  if (values['ready-fd'] === undefined) checkMountpoint(mountpoint);
  if (process.getuid?.() !== 0) throw new CliError('mount needs root (it mounts a FUSE filesystem with mount -t fuse)');
  // An unsafe or unusable state dir: one line, exit 2, nothing created in it.
  const stateDir = stateDirOrExit(values.state ?? defaultStateDir(mountpoint));

  if (values.foreground) {
    const readyFd = values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']);
    const logFile = readyFd === undefined ? undefined : join(stateDir, LOG_NAME);
    const log = createLogger(level, logFile === undefined ? undefined : stateFileOrExit(() => openDaemonLog(stateDir)));
    let code: number;
    try {
      code = await runDaemon({ mountpoint, spec, stateDir, logFile, readers, transport, log, readyFd, control: LIVE_HANDLERS });
    } catch (err) {
      throw new CliError(`mount ${mountpoint} failed: ${(err as Error).message}`, err instanceof UnsafePathError ? EXIT_USAGE : 1);
    }
    // Workers blocked on /dev/fuse are gone after unmount; exit does not wait for stragglers.
    process.exit(code);
  }
  const daemonArgs = [mountpoint, '--state', stateDir, '--log-level', level, '--readers', String(readers), '--transport', transport];
  if (values.topology !== undefined) daemonArgs.push('--topology', resolve(values.topology));
  if (values.profile !== undefined) daemonArgs.push('--profile', values.profile);
  return mountInBackground(daemonArgs, mountpoint, stateDir);
}

function stateFileOrExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UnsafePathError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

function stateDirOrExit(dir: string): string {
  return stateFileOrExit(() => prepareStateDir(resolve(dir)));
}

async function mountInBackground(daemonArgs: string[], mountpoint: string, stateDir: string): Promise<number> {
  const logFile = join(stateDir, LOG_NAME);
  const cli = fileURLToPath(new URL('../../bin/p2pemu.js', import.meta.url));
  // The daemon's own stdout/stderr go to its log too, so a crash leaves a trace.
  const logFd = stateFileOrExit(() => openDaemonLog(stateDir));
  // resolved arguments only: the daemon's command line names its mount point (daemon-identity.ts)
  const child = spawn(process.execPath, [cli, 'mount', ...daemonArgs, '--foreground', '--ready-fd', '3'], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
  });
  closeSync(logFd);
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  const answer = await new Promise<string>((res) => {
    let buf = '';
    pipe.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) res(buf.split('\n')[0]!);
    });
    child.on('exit', (code) => res(`exit ${code}`));
  });
  if (answer === 'ready') {
    child.unref();
    (pipe as unknown as { destroy(): void }).destroy();
    console.log(`p2pemu: mounted at ${mountpoint} (daemon pid ${child.pid}, log ${logFile})`);
    return 0;
  }
  if (answer.startsWith('bad-input ')) throw new CliError(`mount ${mountpoint} refused: ${answer.slice(10)}`, EXIT_USAGE);
  let tail = '';
  try {
    tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join('\n');
  } catch {
    /* no log */
  }
  const reason = answer.startsWith('error ') ? answer.slice(6) : `the daemon ended early (${answer}); log: ${logFile}${tail ? `\n${tail}` : ''}`;
  throw new CliError(`mount ${mountpoint} failed: ${reason}`);
}
