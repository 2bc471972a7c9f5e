// Live mounts, one JSON file each under /run/p2pemu, so `status` and
// `unmount` can find the daemon that serves a mount point.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REGISTRY_DIR = process.env.P2PEMU_RUN_DIR ?? '/run/p2pemu';

export interface MountRecord {
  pid: number;
  mountpoint: string;
  topology: string;
  stateDir: string;
  barDir: string;
  logFile: string | undefined;
  started: string;
}

function recordPath(mountpoint: string): string {
  return join(REGISTRY_DIR, `${resolve(mountpoint).replace(/\//g, '_')}.json`);
}

export function writeRecord(rec: MountRecord): void {
  mkdirSync(REGISTRY_DIR, { recursive: true });
  writeFileSync(recordPath(rec.mountpoint), JSON.stringify(rec, null, 2) + '\n');
}

export function readRecord(mountpoint: string): MountRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(mountpoint), 'utf8')) as MountRecord;
  } catch {
    return undefined;
  }
}

export function removeRecord(mountpoint: string, pid?: number): void {
  const rec = readRecord(mountpoint);
  if (pid !== undefined && rec && rec.pid !== pid) return; // someone else's mount now
  rmSync(recordPath(mountpoint), { force: true });
}

export function listRecords(): MountRecord[] {
  let names: string[];
  try {
    names = readdirSync(REGISTRY_DIR);
  } catch {
    return [];
  }
  const out: MountRecord[] = [];
  for (const n of names.filter((n) => n.endsWith('.json'))) {
    try {
      out.push(JSON.parse(readFileSync(join(REGISTRY_DIR, n), 'utf8')) as MountRecord);
    } catch {
      /* half-written record: ignore */
    }
  }
  return out;
}

export { isAlive } from '../proc.js';
