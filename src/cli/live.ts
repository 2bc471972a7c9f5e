// --mount MNT / --live: answer from the live model of a running mount instead
// of a topology file. The command sends its request to the mount's daemon over
// the daemon's control socket (root's alone) and prints the answer; the daemon
// computes it with the same code the offline command runs (live-handlers.ts).

import { resolve } from 'node:path';
import { askControl, type ControlRequest } from '../daemon/index.js';
import { daemonAlive, listRecords, readRecord, type MountRecord } from '../daemon/index.js';
import { findMount } from '../daemon/index.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const LIVE_OPTIONS = {
  mount: { type: 'string' },
  live: { type: 'boolean' },
} as const;

export const LIVE_HELP = `  --mount MNT       answer from the live model of the p2pemu mount at MNT (after setpci,
                    remove, unbind/bind…), as the daemon sees it; needs root
  --live            the same, for the only live p2pemu mount`;

const isLive = (rec: MountRecord) => findMount(rec.mountpoint)?.fstype.startsWith('fuse.p2pemu') === true && daemonAlive(rec);

/** The mount a command should ask (--mount MNT or --live), or undefined for the offline answer. */
export function liveMount(values: { mount?: string; live?: boolean; topology?: string }): MountRecord | undefined {
  if (values.mount === undefined && !values.live) return undefined;
  if (values.mount !== undefined && values.live) throw new CliError('--mount and --live both name the mount to ask: give one', EXIT_USAGE);
  if (values.topology !== undefined) throw new CliError('--topology and --mount/--live contradict each other: a live mount answers with the machine it runs', EXIT_USAGE);
  if (values.mount !== undefined) {
    const mnt = resolve(values.mount);
    const rec = readRecord(mnt);
    if (!rec) throw new CliError(`${mnt} is not a p2pemu mount (no daemon record for it)`);
    if (!isLive(rec)) throw new CliError(`the daemon of ${mnt} is gone; recover with: p2pemu unmount ${mnt}`);
    return rec;
  }
  const live = listRecords().filter(isLive);
  if (live.length === 1) return live[0];
  if (live.length === 0) throw new CliError('no live p2pemu mount (mount one, or name a topology with --topology)');
  throw new CliError(`${live.length} live p2pemu mounts: name one with --mount (${live.map((r) => r.mountpoint).join(', ')})`, EXIT_USAGE);
}

/** Asks a mount's daemon; its answer, or its error as this command's error. */
export async function askLive(rec: MountRecord, req: ControlRequest): Promise<string> {
  if (!rec.control) throw new CliError(`the daemon of ${rec.mountpoint} has no control socket (mounted by an older p2pemu?)`);
  let a;
  try {
    a = await askControl(rec.control, req);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(`asking the daemon of ${rec.mountpoint} needs root (its control socket is root's)`);
    throw new CliError(`the daemon of ${rec.mountpoint} did not answer (${code ?? (err as Error).message})`);
  }
  if (!a.ok) throw new CliError(a.error, a.exitCode);
  return a.output;
}
