// Which files of the mount stand for device nodes, and which device number
// each would have: /dev/nvmeX and /dev/ngXnY character devices, /dev/nvmeXnY
// block devices, /dev/hmm_dmirrorN character devices. The numbers are the ones
// the emulated sysfs shows (MNT/sys/dev/{char,block}/MAJ:MIN → …/NAME); the
// files are known by device and inode number, so a stat through any path (the
// bind mount at /dev/nvme0, MNT/dev/nvme0, an fd) finds them.

import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { AT_FDCWD, statx } from './native.js';

/** Device nodes of the emulated host in MNT/dev (also the names `p2pemu run` binds into /dev). */
export const DEV_NODES = /^(nvme\d+(n\d+)?|ng\d+n\d+|hmm_dmirror\d+)$/;

// unverified: lib/test_hmm.c takes a dynamic character major ("HMM_DMIRROR") and
// the emulated sysfs has no dev link for it yet; this stands in (native-notes/run.md)
export const HMM_DMIRROR_MAJOR = 239;

export interface DevNumber {
  major: number;
  minor: number;
}

export interface DeviceIdentity extends DevNumber {
  type: 'chr' | 'blk';
}

// include/uapi/linux/stat.h
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_INO = 0x100;
export const AT_STATX_DONT_SYNC = 0x4000;

/** What the supervisor needs to know of a file to decide about it: where it lives and what it is. */
export interface FileKey {
  dev: DevNumber;
  ino: number;
  mode: number;
}

const keyBuf = Buffer.alloc(256);

/**
 * Device, inode and type of a path without asking a FUSE daemon (attributes it
 * already has); undefined when it does not resolve.
 */
export function fileKey(path: string, flags: number): FileKey | undefined {
  if (statx(AT_FDCWD, path, flags | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MODE | STATX_INO, keyBuf) < 0) return undefined;
  // struct statx: stx_mode u16 @28, stx_ino u64 @32, stx_dev_major u32 @136, stx_dev_minor @140
  return { mode: keyBuf.readUInt16LE(28), ino: Number(keyBuf.readBigUInt64LE(32)), dev: { major: keyBuf.readUInt32LE(136), minor: keyBuf.readUInt32LE(140) } };
}

export const sameDev = (a: DevNumber, b: DevNumber): boolean => a.major === b.major && a.minor === b.minor;

export class DeviceNodes {
  private byName = new Map<string, DeviceIdentity>();
  private byIno = new Map<number, DeviceIdentity>();

  constructor(private readonly mnt: string) {
    this.refresh();
  }

  /** Reads MNT/dev and the dev links of MNT/sys again (devices come and go with remove, rescan, bind). */
  refresh(): void {
    const byName = new Map<string, DeviceIdentity>();
    for (const type of ['char', 'block'] as const) {
      let links: string[] = [];
      try {
        links = readdirSync(`${this.mnt}/sys/dev/${type}`);
      } catch {
        // no such class on this topology
      }
      for (const l of links) {
        const m = /^(\d+):(\d+)$/.exec(l);
        if (!m) continue;
        try {
          const name = basename(readlinkSync(`${this.mnt}/sys/dev/${type}/${l}`));
          if (DEV_NODES.test(name)) byName.set(name, { type: type === 'char' ? 'chr' : 'blk', major: Number(m[1]), minor: Number(m[2]) });
        } catch {
          // removed meanwhile
        }
      }
    }
    const byIno = new Map<number, DeviceIdentity>();
    let names: string[] = [];
    try {
      names = readdirSync(`${this.mnt}/dev`);
    } catch {
      // unmounted
    }
    for (const name of names) {
      const hmm = /^hmm_dmirror(\d+)$/.exec(name);
      if (hmm && !byName.has(name)) byName.set(name, { type: 'chr', major: HMM_DMIRROR_MAJOR, minor: Number(hmm[1]) });
      const id = byName.get(name);
      if (!id) continue;
      try {
        byIno.set(lstatSync(`${this.mnt}/dev/${name}`).ino, id);
      } catch {
        // removed meanwhile
      }
    }
    this.byName = byName;
    this.byIno = byIno;
  }

  /**
   * The identity of a regular file of the mount, by its name (an open of a
   * node made fresh per lookup has an inode of its own) or else by its inode (a
   * symlink's name says nothing); undefined for everything that is no device node.
   */
  identityOf(ino: number, name: string | undefined): DeviceIdentity | undefined {
    if (name === undefined || !DEV_NODES.test(name)) return this.byIno.get(ino);
    if (!this.byName.has(name)) this.refresh();
    return this.byName.get(name);
  }
}
