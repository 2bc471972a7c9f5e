// p2pemu status: the live mounts, their daemons, and any stale ones.

import { resolve } from 'node:path';
import type { ControlRequest, LiveHost } from '../daemon/index.js';
import { daemonAlive, listRecords, type MountRecord } from '../daemon/index.js';
import { isStaleMount, listMounts } from '../daemon/index.js';
import { transfersTable } from '../model/index.js';
import { parse } from './args.js';
import { askLive } from './live.js';

export const STATUS_USAGE = `usage: p2pemu status [--json] [--mount MNT]

Lists p2pemu mounts: mount point, daemon pid, state (live; stale: the daemon is
gone and the mount answers ENOTCONN; detached: unmounted with --lazy, the
daemon still serves files opened before; not-mounted), topology and log file,
and for live mounts the NVMe transfers per (client, provider, path):
switch-local P2P, P2P through the host bridge, host memory, refused requests
and unclassified ones (a caller with P2P mappings whose O_DIRECT buffer could
not be found: served as host memory, the daemon log says why), and the requests a daemon bug answered with EIO (details in the log):
asked of each daemon over its control socket, so those need root.
  --mount MNT   only the mount at MNT`;

export interface MountStatus {
  mountpoint: string;
  /** the transfers table of a live mount, from its daemon */
  transfers?: string;
  /** requests answered EIO because of a bug in the daemon */
  handlerErrors?: number;
  pid: number | undefined;
  state: 'live' | 'stale' | 'detached' | 'not-mounted';
  topology: string | undefined;
  logFile: string | undefined;
  started: string | undefined;
}

/** The daemon's side of `status`: what it moved and how often a bug answered EIO. */
export function statusLive(_req: ControlRequest, live: LiveHost): string {
  return JSON.stringify({ transfers: transfersTable(live.transfers()), handlerErrors: live.handlerErrors().total });
}

export async function collectStatus(only?: string): Promise<MountStatus[]> {
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
  const wanted = only === undefined ? out : out.filter((s) => s.mountpoint === resolve(only));
  for (const s of wanted) {
    const rec = records.find((r) => r.mountpoint === s.mountpoint);
    if (s.state !== 'live' || !rec) continue;
    try {
      const live = JSON.parse(await askLive(rec as MountRecord, { command: 'status' })) as { transfers: string; handlerErrors: number };
      s.transfers = live.transfers;
      s.handlerErrors = live.handlerErrors;
    } catch {
      /* not ours to ask (not root), or a daemon without a control socket */
    }
  }
  return wanted;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' }, mount: { type: 'string' } }, STATUS_USAGE);
  if (values.help) {
    console.log(STATUS_USAGE);
    return 0;
  }
  const status = await collectStatus(values.mount);
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
