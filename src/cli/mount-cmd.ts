// p2pemu mount MOUNTPOINT: validate the topology, then run the daemon here
// (--foreground) or in the background and return once the tree is served.

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTopology } from '../config/parse-topology.js';
import { TopologyError } from '../config/topology-error.js';
import { PROFILES, type Profile } from '../config/spec.js';
import { runDaemon } from '../daemon/daemon.js';
import { createLogger, LOG_LEVELS } from '../daemon/logger.js';
import { isAlive, readRecord } from '../daemon/registry.js';
import { findMount, isStaleMount } from '../fuse/mount.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const MOUNT_USAGE = `usage: p2pemu mount MOUNTPOINT [--topology FILE] [--state DIR] [--profile NAME] [--foreground] [--log-level LEVEL] [--readers N]

Mounts an emulated PCI host at MOUNTPOINT (an existing directory) and returns
once MOUNTPOINT/sys and MOUNTPOINT/dev are served; the daemon stays in the
background. Needs root.

  --topology FILE   topology YAML (default: the embedded default topology;
                    see it with: p2pemu topo --dump-default)
  --state DIR       where the daemon keeps its log and persistent data
                    (default: /var/lib/p2pemu/<mountpoint path>)
  --profile NAME    kernel behaviour: mainline (default), userspace-p2pdma-rfc
                    (the RFC series: mmap of MNT/dev/nvmeX allocates from the CMB)
                    or hmm-allow-p2p (HMM_PFN_ALLOW_P2P for device-private pages);
                    overrides the topology's profile field
  --foreground      run the daemon in this process until SIGINT/SIGTERM
  --log-level LEVEL fatal, error, warn, info (default), debug, trace, silent
  --readers N       threads reading /dev/fuse (default 4)`;

const options = {
  topology: { type: 'string' },
  state: { type: 'string' },
  profile: { type: 'string' },
  foreground: { type: 'boolean' },
  'log-level': { type: 'string' },
  readers: { type: 'string' },
  'ready-fd': { type: 'string' }, // internal: the background parent's pipe
} as const;

export function defaultStateDir(mountpoint: string): string {
  return join('/var/lib/p2pemu', resolve(mountpoint).replace(/\//g, '_'));
}

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
    throw new CliError(`${abs} is already a p2pemu mount${rec && isAlive(rec.pid) ? ` (daemon pid ${rec.pid})` : ''}; unmount it first: p2pemu unmount ${abs}`);
  }
  let st;
  try {
    st = statSync(abs);
  } catch (err) {
    throw new CliError(`${abs}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
  }
  if (!st.isDirectory()) throw new CliError(`${abs}: not a directory`);
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
  const readers = values.readers === undefined ? 4 : Number(values.readers);
  if (!Number.isInteger(readers) || readers < 1 || readers > 64) throw new CliError('--readers must be an integer from 1 to 64', EXIT_USAGE);

  // Bad topology: one line, exit 2, and nothing created or mounted.
  let spec;
  try {
    spec = loadTopology(values.topology === undefined ? undefined : resolve(values.topology));
  } catch (err) {
    if (err instanceof TopologyError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
  if (values.profile !== undefined) {
    if (!(PROFILES as readonly string[]).includes(values.profile)) throw new CliError(`--profile must be one of: ${PROFILES.join(', ')}`, EXIT_USAGE);
    spec.profile = values.profile as Profile;
  }
  const mountpoint = resolve(positionals[0]!);
  if (values['ready-fd'] === undefined) checkMountpoint(mountpoint);
  if (process.getuid?.() !== 0) throw new CliError('mount needs root (it mounts a FUSE filesystem with mount -t fuse)');
  const stateDir = resolve(values.state ?? defaultStateDir(mountpoint));

  if (values.foreground) {
    mkdirSync(stateDir, { recursive: true });
    const readyFd = values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']);
    const logFile = readyFd === undefined ? undefined : join(stateDir, 'daemon.log');
    const log = createLogger(level, logFile === undefined ? undefined : openSync(logFile, 'a'));
    const code = await runDaemon({ mountpoint, spec, stateDir, logFile, readers, log, readyFd });
    // Workers blocked on /dev/fuse are gone after unmount; exit does not wait for stragglers.
    process.exit(code);
  }
  return mountInBackground(argv, mountpoint, stateDir);
}

async function mountInBackground(argv: string[], mountpoint: string, stateDir: string): Promise<number> {
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(stateDir, 'daemon.log');
  const cli = fileURLToPath(new URL('../../bin/p2pemu.js', import.meta.url));
  // The daemon's own stdout/stderr go to its log too, so a crash leaves a trace.
  const logFd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [cli, 'mount', ...argv, '--foreground', '--ready-fd', '3', '--state', stateDir], {
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
  let tail = '';
  try {
    tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join('\n');
  } catch {
    /* no log */
  }
  const reason = answer.startsWith('error ') ? answer.slice(6) : `the daemon ended early (${answer}); log: ${logFile}${tail ? `\n${tail}` : ''}`;
  throw new CliError(`mount ${mountpoint} failed: ${reason}`);
}
