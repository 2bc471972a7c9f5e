// p2pemu status: the live mounts, their daemons, and any stale ones.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonAlive, listRecords } from '../daemon/registry.js';
import { isStaleMount, listMounts } from '../fuse/mount.js';
import { parse } from './args.js';

export const STATUS_USAGE = `usage: p2pemu status [--json]

Lists p2pemu mounts: mount point, daemon pid, state (live; stale: the daemon is
gone and the mount answers ENOTCONN; detached: unmounted with --lazy, the
daemon still serves files opened before; not-mounted), topology and log file,
and for live mounts the NVMe transfers per (client, provider, path):
switch-local P2P, P2P through the host bridge, host memory, and refused
requests, and the requests a daemon bug answered with EIO (details in the log).`;

export interface MountStatus {
  mountpoint: string;
  /** the transfers table of a live mount (MNT/sys/kernel/debug/p2pemu/transfers) */
  transfers?: string;
  /** requests answered EIO because of a bug in the daemon (MNT/sys/kernel/debug/p2pemu/handler_errors) */
  handlerErrors?: number;
  pid: number | undefined;
  state: 'live' | 'stale' | 'detached' | 'not-mounted';
  topology: string | undefined;
  logFile: string | undefined;
  started: string | undefined;
}

export function collectStatus(): MountStatus[] {
  const mounts = listMounts().filter((m) => m.fstype.startsWith('fuse.p2pemu'));
  const records = listRecords();
  const out: MountStatus[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    const rec = records.find((r) => r.mountpoint === m.mountpoint);
    // A mount without a record (another registry, a crashed writer) is judged by the kernel's answer alone.
    const daemonGone = rec !== undefined && !daemonAlive(rec);
    out.push({
      mountpoint: m.mountpoint,
      pid: rec?.daemon.pid,
      state: daemonGone || isStaleMount(m.mountpoint) ? 'stale' : 'live',
      topology: rec?.topology,
      logFile: rec?.logFile,
      started: rec?.started,
    });
    seen.add(m.mountpoint);
  }
  for (const r of records) {
    if (seen.has(r.mountpoint)) continue;
    const state = daemonAlive(r) ? 'detached' : 'not-mounted';
    out.push({ mountpoint: r.mountpoint, pid: r.daemon.pid, state, topology: r.topology, logFile: r.logFile, started: r.started });
  }
  for (const s of out) {
    if (s.state !== 'live') continue;
    const debug = join(s.mountpoint, 'sys/kernel/debug/p2pemu');
    try {
      s.transfers = readFileSync(join(debug, 'transfers'), 'utf8');
      s.handlerErrors = Number(/^total (\d+)/.exec(readFileSync(join(debug, 'handler_errors'), 'utf8'))?.[1] ?? 0);
    } catch {
      /* not ours to read */
    }
  }
  return out;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } }, STATUS_USAGE);
  if (values.help) {
    console.log(STATUS_USAGE);
    return 0;
  }
  const status = collectStatus();
  if (values.json) {
    console.log(JSON.stringify(status, null, 2));
    return 0;
  }
  if (status.length === 0) {
    console.log('no p2pemu mounts');
    return 0;
  }
  for (const s of status) {
    const fix = s.state === 'stale' ? `  (recover: p2pemu unmount ${s.mountpoint})` : '';
    console.log(`${s.mountpoint}  ${s.state}  pid ${s.pid ?? '-'}  topology ${s.topology ?? '?'}  since ${s.started ?? '?'}${fix}`);
    if (s.logFile) console.log(`  log ${s.logFile}`);
    if (s.handlerErrors) console.log(`  handler errors: ${s.handlerErrors} requests answered EIO by a daemon bug (see the log)`);
    const rows = s.transfers?.trimEnd().split('\n') ?? [];
    if (rows.length > 1) for (const r of rows) console.log(`  ${r}`);
    else if (s.transfers !== undefined) console.log('  no NVMe transfers yet');
  }
  return 0;
}
