// Which parts of /sys and /dev the emulated host replaces under `p2pemu run`,
// as a list of operations on a fresh tmpfs over /sys and over /dev: the
// host's entries come back (bind mounts, symlinks, device nodes) except where
// the emulated tree takes their place. Pure: it works on directory listings.

import { DEV_NODES } from '../../seccomp/index.js';

export type EntryKind = 'dir' | 'link' | 'file' | 'chr' | 'blk' | 'other';

export interface Entry {
  name: string;
  kind: EntryKind;
  /** symlink target */
  target?: string;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
}

/** Lists a directory of the host (before it was covered) or of the mount; undefined when it does not exist. */
export type Lister = (path: string) => Entry[] | undefined;

export type Op =
  | { op: 'tmpfs'; path: string }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'bind'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'touch'; path: string }
  | { op: 'mknod'; path: string; mode: number; rdev: number; uid: number; gid: number };

/**
 * ours: the emulated subtree replaces the host's; merge: symlinks of both, ours
 * win; host-links: the host's entries without links into its PCI tree (which
 * the emulated one replaced); a nested rule recurses.
 */
type Rule = 'ours' | 'merge' | 'host-links' | { [name: string]: Rule };

// What the emulated host provides under /sys (the rest stays the host's).
const SYS_RULES: Rule = {
  block: 'ours',
  bus: { pci: 'ours' },
  class: { block: 'ours', nvme: 'ours', 'nvme-subsystem': 'ours', 'nvme-generic': 'ours', '*': 'host-links' },
  dev: { block: 'ours', char: 'merge' },
  devices: { 'pci*': 'ours', system: { cpu: 'ours', node: 'ours' }, virtual: { 'nvme-subsystem': 'ours' } },
  kernel: { iommu_groups: 'ours' },
};


function ruleFor(rules: { [name: string]: Rule }, name: string): Rule | undefined {
  if (rules[name] !== undefined) return rules[name];
  for (const [k, r] of Object.entries(rules)) if (k.endsWith('*') && name.startsWith(k.slice(0, -1))) return r;
  return undefined;
}

/** A host link into the host's PCI devices, which the emulated tree replaced (it would dangle or land on the wrong device). */
const intoHostPci = (e: Entry) => e.kind === 'link' && /(^|\/)devices\/pci[0-9a-f]{4}:/.test(e.target ?? '');

/** Puts one host entry back at `to`. */
function hostEntry(e: Entry, from: string, to: string, ops: Op[]): void {
  switch (e.kind) {
    case 'dir':
      ops.push({ op: 'mkdir', path: to, mode: e.mode }, { op: 'bind', from, to });
      break;
    case 'link':
      ops.push({ op: 'symlink', target: e.target!, path: to });
      break;
    case 'chr':
    case 'blk':
      ops.push({ op: 'mknod', path: to, mode: e.mode | (e.kind === 'chr' ? 0o020000 : 0o060000), rdev: e.rdev, uid: e.uid, gid: e.gid });
      break;
    default:
      ops.push({ op: 'touch', path: to }, { op: 'bind', from, to });
  }
}

function overlay(ops: Op[], list: { host: Lister; ours: Lister }, hostDir: string, oursDir: string, to: string, rules: { [name: string]: Rule }): void {
  const host = list.host(hostDir) ?? [];
  const ours = list.ours(oursDir) ?? [];
  const oursNames = new Set(ours.map((e) => e.name));
  const done = new Set<string>();
  for (const e of host) {
    const rule = ruleFor(rules, e.name);
    const target = `${to}/${e.name}`;
    done.add(e.name);
    if (rule === undefined) {
      hostEntry(e, `${hostDir}/${e.name}`, target, ops);
    } else if (rule === 'ours') {
      // replaced; a host pci0000:00 the topology lacks simply goes, a named one it lacks stays empty
      if (oursNames.has(e.name)) ops.push({ op: 'mkdir', path: target, mode: 0o755 }, { op: 'bind', from: `${oursDir}/${e.name}`, to: target });
      else if (rules[e.name] !== undefined) ops.push({ op: 'mkdir', path: target, mode: e.mode });
    } else {
      ops.push({ op: 'mkdir', path: target, mode: e.mode });
      if (rule === 'merge') merge(ops, list, `${hostDir}/${e.name}`, `${oursDir}/${e.name}`, target);
      else if (rule === 'host-links') {
        for (const c of list.host(`${hostDir}/${e.name}`) ?? []) if (!intoHostPci(c)) hostEntry(c, `${hostDir}/${e.name}/${c.name}`, `${target}/${c.name}`, ops);
      } else overlay(ops, list, `${hostDir}/${e.name}`, `${oursDir}/${e.name}`, target, rule);
    }
  }
  // what the emulated host has and this host does not (pci0000:80, class/nvme…)
  for (const e of ours) {
    if (done.has(e.name)) continue;
    const rule = ruleFor(rules, e.name);
    if (rule === 'ours') ops.push({ op: 'mkdir', path: `${to}/${e.name}`, mode: 0o755 }, { op: 'bind', from: `${oursDir}/${e.name}`, to: `${to}/${e.name}` });
    else if (rule === 'merge') {
      ops.push({ op: 'mkdir', path: `${to}/${e.name}`, mode: 0o755 });
      merge(ops, list, `${hostDir}/${e.name}`, `${oursDir}/${e.name}`, `${to}/${e.name}`);
    } else if (typeof rule === 'object') {
      ops.push({ op: 'mkdir', path: `${to}/${e.name}`, mode: 0o755 });
      overlay(ops, list, `${hostDir}/${e.name}`, `${oursDir}/${e.name}`, `${to}/${e.name}`, rule);
    }
  }
}

/** A directory of symlinks (sys/dev/char): the host's, then ours over them. */
function merge(ops: Op[], list: { host: Lister; ours: Lister }, hostDir: string, oursDir: string, to: string): void {
  const ours = list.ours(oursDir) ?? [];
  const oursNames = new Set(ours.map((e) => e.name));
  for (const e of list.host(hostDir) ?? []) if (e.kind === 'link' && !oursNames.has(e.name) && !intoHostPci(e)) ops.push({ op: 'symlink', target: e.target!, path: `${to}/${e.name}` });
  for (const e of ours) if (e.kind === 'link') ops.push({ op: 'symlink', target: e.target!, path: `${to}/${e.name}` });
}

/**
 * The operations that put the emulated tree at the real paths. `hostSys` and
 * `hostDev` name the host's /sys and /dev after they were covered (an open
 * directory fd under /proc/self/fd), `mnt` the p2pemu mount.
 */
export function realPathsPlan(list: { host: Lister; ours: Lister }, hostSys: string, hostDev: string, mnt: string): Op[] {
  const ops: Op[] = [{ op: 'tmpfs', path: '/sys' }];
  overlay(ops, list, hostSys, `${mnt}/sys`, '/sys', SYS_RULES as { [name: string]: Rule });
  ops.push({ op: 'tmpfs', path: '/dev' });
  // device nodes of the emulated host replace the host's of the same names
  for (const e of list.host(hostDev) ?? []) if (!DEV_NODES.test(e.name)) hostEntry(e, `${hostDev}/${e.name}`, `/dev/${e.name}`, ops);
  for (const e of list.ours(`${mnt}/dev`) ?? []) {
    if (DEV_NODES.test(e.name)) ops.push({ op: 'touch', path: `/dev/${e.name}` }, { op: 'bind', from: `${mnt}/dev/${e.name}`, to: `/dev/${e.name}` });
  }
  return ops;
}
